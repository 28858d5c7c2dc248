export { dataAdapter } from './data-adapter.js';
export type { DataAdapterOptions } from './data-adapter-options.js';
export { parseDataUrl, type DataUrlContent } from './parse-data-url.js';
