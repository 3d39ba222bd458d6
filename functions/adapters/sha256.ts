/**
 * SHA-256 and HMAC-SHA256 on node:crypto for the AWS SDK (its clients' and SigV4 signer's `sha256`
 * option). The SDK's own gives `createHmac` the key as bytes or text, and node:crypto makes a key
 * object of them on every call: on Node 24 that is about 20 µs, five times the HMAC itself (a
 * one-off micro-benchmark), and SigV4 makes two HMACs per request with the same two keys (the
 * signing key of the day, and the secret that names its cache entry). Here each key's object is made once. Written by hand: the
 * interface is the SDK's (`Checksum`), and no library offers it with cached keys.
 */
import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from "node:crypto";

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** Keys given as bytes: the signer passes the same signing key object all day (and never changes its bytes). */
const byteKeys = new WeakMap<object, KeyObject>();
/** Keys given as text (secrets): few, and replaced when credentials rotate. */
const textKeys = new Map<string, KeyObject>();
const MAX_TEXT_KEYS = 64;

function bytesOf(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

function keyOf(secret: SourceData): KeyObject {
  if (typeof secret === "string") {
    let key = textKeys.get(secret);
    if (key === undefined) {
      if (textKeys.size >= MAX_TEXT_KEYS) textKeys.clear();
      textKeys.set(secret, (key = createSecretKey(Buffer.from(secret, "utf8"))));
    }
    return key;
  }
  let key = byteKeys.get(secret);
  if (key === undefined) byteKeys.set(secret, (key = createSecretKey(bytesOf(secret))));
  return key;
}

export class Sha256 {
  readonly digestLength = 32;
  private hash: Hash | Hmac;
  private readonly key: KeyObject | undefined;

  constructor(secret?: SourceData) {
    this.key = secret === undefined ? undefined : keyOf(secret);
    this.hash = this.start();
  }

  update(data: SourceData, encoding?: "utf8" | "ascii" | "latin1"): void {
    if (typeof data === "string") this.hash.update(data, encoding ?? "utf8");
    else this.hash.update(bytesOf(data));
  }

  async digest(): Promise<Uint8Array> {
    // A plain hash may be read again (the SDK reads some twice); an HMAC once, as the SDK's.
    const digest = this.key === undefined ? (this.hash as Hash).copy().digest() : this.hash.digest();
    return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
  }

  reset(): void {
    this.hash = this.start();
  }

  private start(): Hash | Hmac {
    return this.key === undefined ? createHash("sha256") : createHmac("sha256", this.key);
  }
}
