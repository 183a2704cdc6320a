/** The version of this lab extension, to compare with the server's. */
import pkg from '../../package.json';

export const FRONTEND_VERSION = pkg.version;
