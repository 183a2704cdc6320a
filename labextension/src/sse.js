/** Reading `text/event-stream` text (server-sent events), without the DOM's EventSource. */

/**
 * Split a chunk of `text/event-stream` into events. Returns the events
 * complete so far and the unfinished rest.
 *
 * @param {string} buffer
 * @returns {{events: {event: string, data: string}[], rest: string}}
 */
export function parseSSE(buffer) {
  const events = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) {
        continue; // a comment (keep-alive)
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) {
        value = value.slice(1);
      }
      if (field === 'event') {
        event = value;
      } else if (field === 'data') {
        data.push(value);
      }
    }
    if (data.length) {
      events.push({ event, data: data.join('\n') });
    }
  }
  return { events, rest };
}
