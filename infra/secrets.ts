/** Signing key of subscriber tokens (`sst secret set TokenSigningKey <random>`). */
export const tokenSigningKey = new sst.Secret("TokenSigningKey");

/**
 * The admin API's credential (`sst secret set AdminToken "$(openssl rand -hex 32)"`): creates
 * tenants and keys and rotates webhook secrets at /v1/admin. The admin CLI needs none: it uses
 * AWS credentials against the table.
 */
export const adminToken = new sst.Secret("AdminToken");

// Webhook signing secrets are per tenant, kept in the table and rotated through the API
// (GET /v1/webhook-secret, POST /v1/webhook-secret/rotate), not deployment secrets.
