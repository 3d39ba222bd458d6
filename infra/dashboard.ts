/**
 * The dashboard (web/) as a static site on S3 and CloudFront. Its build bundles the page and
 * writes config.json with this stage's API URLs (web/build.ts); the page asks each person for an
 * API key and keeps it in their browser, and calls the API cross-origin (CORS: infra/api.ts).
 */
import { api } from "./api";
import { ws } from "./realtime";

export const dashboard = new sst.aws.StaticSite("Dashboard", {
  build: { command: "npm run build:dashboard", output: "web/dist" },
  environment: {
    HEADWAY_API_URL: api.url,
    HEADWAY_WEBSOCKET_URL: ws.url,
  },
});
