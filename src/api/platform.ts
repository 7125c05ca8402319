/** Whether the API runs under Node (its Node-only parts are loaded by dynamic imports then). */
export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
