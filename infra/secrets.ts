/** Signing key of subscriber tokens (`sst secret set TokenSigningKey <random>`). */
export const tokenSigningKey = new sst.Secret("TokenSigningKey");
