/** The data-lake endpoints (`lake/...`, see openapi/lake.yaml) as small functions. */
import { requestAPI } from '../api.js';

const inst = name => `lake/instances/${encodeURIComponent(name)}`;
const did = (name, d) => `${inst(name)}/dids/${encodeURIComponent(d)}`;

export const lakeAPI = {
  instances: (opts = {}) => requestAPI('lake/instances', opts),
  whoami: (name, opts = {}) => requestAPI(`${inst(name)}/whoami`, opts),
  login: (name, body) => requestAPI(`${inst(name)}/credentials`, { method: 'PUT', body }),
  logout: name => requestAPI(`${inst(name)}/credentials`, { method: 'DELETE' }),
  scopes: (name, opts = {}) => requestAPI(`${inst(name)}/scopes`, opts),
  search: (name, query, opts = {}) => requestAPI(`${inst(name)}/dids`, { ...opts, query }),
  did: (name, d, opts = {}) => requestAPI(did(name, d), opts),
  children: (name, d, query, opts = {}) => requestAPI(`${did(name, d)}/children`, { ...opts, query }),
  replicas: (name, d, query, opts = {}) => requestAPI(`${did(name, d)}/replicas`, { ...opts, query }),
  rules: (name, d, query, opts = {}) => requestAPI(`${did(name, d)}/rules`, { ...opts, query }),
  rses: (name, opts = {}) => requestAPI(`${inst(name)}/rses`, opts),
  addRule: (name, body) => requestAPI(`${inst(name)}/rules`, { method: 'POST', body })
};
