/** The appreg version, from package.json: the provider, the client's User-Agent and the mirror layout use it. */
import pkg from '../package.json';

/** The version of this appreg build. */
export const VERSION: string = pkg.version;
