/** Signing key of subscriber tokens (`sst secret set TokenSigningKey <random>`). */
export const tokenSigningKey = new sst.Secret("TokenSigningKey");

// Webhook signing secrets are per tenant, kept in the table and rotated through the API
// (GET /v1/webhook-secret, POST /v1/webhook-secret/rotate), not deployment secrets.
