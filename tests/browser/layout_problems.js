// What is cramped in a part of the page, measured (browser_fixtures.layout_problems): text or
// fields cut, boxes spilling out or scrolling sideways, text wrapped to 1-2 characters a line.
// Called with the root element; returns one sentence per problem (none: the layout is fine).
(root) => {
  const problems = [];
  const canvas = document.createElement('canvas').getContext('2d');
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const where = el => {
    const bits = [];
    for (let e = el; e && e !== root && bits.length < 3; e = e.parentElement) {
      const cls = [...e.classList].filter(c => !c.startsWith('lm-')).slice(0, 2).join('.');
      bits.unshift(e.tagName.toLowerCase() + (cls ? '.' + cls : ''));
    }
    return bits.join(' > ');
  };
  const say = (el, what) => problems.push(`${where(el)}: ${what}`);
  const textOf = el => (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
  const measure = (el, text) => {
    const cs = getComputedStyle(el);
    canvas.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    return canvas.measureText(text).width;
  };
  const inner = el => {
    const cs = getComputedStyle(el);
    return el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  };
  // the panel itself never scrolls sideways
  if (root.scrollWidth > root.clientWidth + 1) {
    say(root, `scrolls sideways (${root.scrollWidth} > ${root.clientWidth} px)`);
  }
  const rootRect = root.getBoundingClientRect();
  for (const el of root.querySelectorAll('*')) {
    if (!shown(el) || el.closest('svg, .lm-Widget.lm-mod-hidden')) {
      continue;
    }
    const cs = getComputedStyle(el);
    const tag = el.tagName.toLowerCase();
    // form fields: their text (or placeholder) fits in the box
    if (tag === 'input' && !['checkbox', 'radio', 'range', 'file', 'hidden'].includes(el.type)) {
      const text = el.value || el.placeholder;
      const spare = el.type === 'number' ? 18 : 0; // the spinner
      if (text && measure(el, text) > inner(el) - spare + 1) {
        say(el, `text ${JSON.stringify(text)} is cut (${Math.round(measure(el, text))} px in ${inner(el) - spare} px)`);
      }
      continue;
    }
    if (tag === 'select' && !el.multiple && !(el.size > 1)) {
      const option = el.options[el.selectedIndex];
      if (option && measure(el, option.text) > inner(el) - 16 + 1) {
        const px = Math.round(measure(el, option.text));
        say(el, `choice ${JSON.stringify(option.text)} is cut (${px} px in ${inner(el) - 16} px)`);
      }
      continue;
    }
    // clipped text: hidden overflow, cut with or without an ellipsis; a list entry's name that
    // carries its full text in a tooltip may be cut, a label never
    const clips = ['hidden', 'clip'].includes(cs.overflowX) || cs.textOverflow === 'ellipsis';
    if (clips && el.scrollWidth > el.clientWidth + 1 && textOf(el)) {
      const label = tag === 'label' || el.classList.contains('widget-label');
      const tooltip = el.title && el.title.replace(/\s+/g, ' ').includes(textOf(el).replace(/…$/, ''));
      if (label || !tooltip) {
        say(el, `text ${JSON.stringify(textOf(el))} is cut (${el.scrollWidth} px in ${el.clientWidth} px)`);
      }
    }
    // a box that scrolls sideways: its row did not wrap (a log, code or a table may scroll)
    if (['auto', 'scroll'].includes(cs.overflowX) && el.scrollWidth > el.clientWidth + 1
        && !el.matches('pre, textarea, .jp-vrelab-Snippet') && !el.querySelector(':scope > table')) {
      say(el, `scrolls sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
    // spilling out of the box that holds it (the panel, or the nearest box that clips or scrolls);
    // only the outermost element that spills is named
    const r = el.getBoundingClientRect();
    if (r.width > 0) {
      let box = root;
      for (let a = el.parentElement; a && a !== root; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) {
          box = a;
          break;
        }
      }
      const legit = box.matches('pre, textarea, .jp-vrelab-Snippet, [role=progressbar]') || box.querySelector(':scope > table');
      const b = box.getBoundingClientRect();
      const limit = b.left + box.clientLeft + box.clientWidth;
      const parent = el.parentElement;
      const parentSpills = parent && parent !== box && parent.getBoundingClientRect().right > limit + 1;
      if (!legit && r.right > limit + 1 && !parentSpills) {
        say(el, `spills ${Math.round(r.right - limit)} px out of ${box === root ? 'the panel' : where(box)}`);
      }
    }
  }
  // one or two characters per line: a text wrapped into a column
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\s+/g, '');
    if (text.length < 4 || !node.parentElement || !shown(node.parentElement) || node.parentElement.closest('svg, pre, textarea')) {
      continue;
    }
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = new Set([...range.getClientRects()].filter(q => q.width > 0).map(q => Math.round(q.top)));
    if (lines.size >= 3 && text.length / lines.size <= 2.5) {
      say(node.parentElement, `${JSON.stringify(text.slice(0, 30))} is ${lines.size} lines of ${Math.round(text.length / lines.size)} character(s)`);
    }
  }
  return problems;
}
