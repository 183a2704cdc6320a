/**
 * Who you are on a data-lake instance, and a login form (userpass) when you
 * are not logged in. Other methods (x509, OIDC) are set up with the CLI or
 * by the operator: the panel says how.
 */
import { h } from '../dom.js';
import { formatDateTime } from '../format.js';
import { button, ErrorSlot } from '../ui.js';
import { lakeAPI } from './lake-api.js';

/**
 * The login state of `instance` (a record of GET lake/instances).
 *
 * @param {object} instance
 * @param {object} options
 * @param {() => Promise<void>} options.onChange - called after a login or logout
 * @param {object|null} [options.whoami] - the answer of GET whoami, when known
 */
export function renderLogin(instance, { onChange, whoami = null }) {
  if (instance.logged_in) {
    const who = whoami || instance;
    const errors = new ErrorSlot();
    const expires = whoami && whoami.token_expires_at ? formatDateTime(whoami.token_expires_at) : '';
    const source = instance.source === 'configured' ? 'set up by the server operator' : 'stored by you';
    return h(
      'div',
      { class: 'jp-vrelab-Login', dataset: { state: 'in' } },
      h(
        'div',
        { class: 'jp-vrelab-Row' },
        h('span', { class: 'jp-vrelab-Dot', 'aria-hidden': 'true' }),
        h(
          'span',
          { class: 'jp-vrelab-Account' },
          'Logged in as ',
          h('strong', {}, who.account || '?'),
          ` (${who.auth_type || instance.auth_type || '?'})`
        ),
        instance.source === 'stored'
          ? button(
              'Log out',
              async () => {
                try {
                  await lakeAPI.logout(instance.name);
                } catch (err) {
                  errors.show(err);
                  return;
                }
                await onChange();
              },
              { title: 'Forget the credentials you stored for this instance', kind: 'small' }
            )
          : null
      ),
      h(
        'div',
        { class: 'jp-vrelab-Message' },
        `Credentials ${source}.`,
        expires ? ` Token valid until ${expires}.` : ''
      ),
      errors.node
    );
  }
  const authType = instance.default_auth_type || 'userpass';
  if (authType !== 'userpass') {
    return h(
      'div',
      { class: 'jp-vrelab-Login', dataset: { state: 'out' } },
      h(
        'div',
        { class: 'jp-vrelab-Notice', dataset: { kind: 'warn' } },
        `Not logged in. This instance uses ${authType}: log in from a terminal with `,
        h('code', {}, `vrelab lake login ${instance.name} --auth-type ${authType} --account …`),
        ', then refresh.'
      )
    );
  }
  const errors = new ErrorSlot();
  const account = h('input', {
    class: 'jp-vrelab-Input',
    name: 'account',
    placeholder: 'Rucio account',
    autocomplete: 'username',
    'aria-label': 'Rucio account',
    required: true
  });
  const password = h('input', {
    class: 'jp-vrelab-Input',
    name: 'password',
    type: 'password',
    placeholder: 'Password',
    autocomplete: 'current-password',
    'aria-label': 'Password',
    required: true
  });
  const submit = async () => {
    if (!account.value.trim() || !password.value) {
      errors.show('Give your Rucio account and its password.');
      return;
    }
    try {
      await lakeAPI.login(instance.name, {
        auth_type: 'userpass',
        account: account.value.trim(),
        password: password.value
      });
      password.value = '';
      errors.clear();
      await onChange();
    } catch (err) {
      password.value = '';
      errors.show(err);
    }
  };
  const loginButton = button('Log in', submit, { kind: 'accept' });
  const onKeydown = event => {
    if (event.key === 'Enter') {
      event.preventDefault();
      loginButton.click();
    }
  };
  account.addEventListener('keydown', onKeydown);
  password.addEventListener('keydown', onKeydown);
  return h(
    'div',
    {
      class: 'jp-vrelab-Login jp-vrelab-Form',
      role: 'form',
      dataset: { state: 'out' },
      'aria-label': `Log in to ${instance.display_name || instance.name}`
    },
    h('div', { class: 'jp-vrelab-Message' }, 'Not logged in. Rucio checks your account and password before vrelab stores them (readable by you only).'),
    errors.node,
    account,
    password,
    loginButton
  );
}
