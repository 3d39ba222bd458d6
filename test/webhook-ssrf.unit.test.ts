import { describe, expect, it } from "vitest";
import { isBlockedAddress } from "../core/delivery/webhooks.ts";

const blocked: Record<string, string[]> = {
  "IPv4 loopback, private, link-local, CGNAT, unspecified": ["127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "0.1.2.3"],
  "IPv4 multicast, broadcast and reserved": ["224.0.0.1", "239.255.255.255", "255.255.255.255", "240.0.0.1", "192.0.0.8", "198.18.0.1", "198.19.255.255", "192.88.99.1"],
  "IPv4 documentation ranges (TEST-NET-1, -2, -3)": ["192.0.2.1", "192.0.2.255", "198.51.100.7", "203.0.113.42"],
  "IPv6 loopback, unspecified, link-local, unique-local, multicast": ["::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00::1", "ff02::1"],
  "IPv6 site-local (deprecated fec0::/10)": ["fec0::1", "feff::1"],
  "IPv4-mapped IPv6 of a non-public IPv4": ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:7f00:1", "0:0:0:0:0:ffff:c0a8:101"],
  "IPv4-compatible IPv6 (deprecated ::/96), even of a public IPv4": ["::7f00:1", "::127.0.0.1", "::a00:1", "::808:808", "::8.8.8.8"],
  "SIIT ::ffff:0:0:0/96": ["::ffff:0:7f00:1", "::ffff:0:808:808"],
  "NAT64 64:ff9b::/96 and local-use 64:ff9b:1::/48": ["64:ff9b::7f00:1", "64:ff9b::8.8.8.8", "64:ff9b:1::1", "64:ff9b:1:ffff::1"],
  "6to4 2002::/16 (private and public IPv4 inside)": ["2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::1", "2002:808:808::1"],
  "Teredo 2001::/32": ["2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
  "IPv6 documentation, benchmarking, discard, ORCHID": ["2001:db8::1", "2001:2::1", "100::1", "2001:10::1", "2001:20::1", "3fff::1"],
  "anything that is not an IP literal": ["localhost", "example.com", "127.1", "0x7f.0.0.1", "2130706433", "", "::ffff:127.0.0.1.1"],
};

const allowed = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "52.95.110.1", "192.0.3.1", "198.51.99.1", "203.0.114.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2600:1f18::1", "::ffff:8.8.8.8", "::ffff:808:808"];

describe("webhook targets that are refused in the cloud", () => {
  for (const [range, addresses] of Object.entries(blocked)) {
    it(`refuses ${range}`, () => {
      for (const address of addresses) expect(isBlockedAddress(address), address).toBe(true);
    });
  }

  it("allows public unicast IPv4 and IPv6, the neighbours of the documentation ranges, and IPv4-mapped public addresses", () => {
    for (const address of allowed) expect(isBlockedAddress(address), address).toBe(false);
  });
});
