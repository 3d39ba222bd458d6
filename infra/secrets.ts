/** Signing key of subscriber tokens (`sst secret set TokenSigningKey <random>`). */
export const tokenSigningKey = new sst.Secret("TokenSigningKey");

/**
 * Webhook signing secret(s) in Standard Webhooks form, `whsec_<base64>`; several, space-separated,
 * sign with each, so a secret can be rotated without downtime.
 */
export const webhookSigningKey = new sst.Secret("WebhookSigningKey");
