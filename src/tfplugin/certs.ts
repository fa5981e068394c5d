/**
 * The throwaway certificate for go-plugin's automatic mutual TLS: a fresh
 * ECDSA P-256 key and a self-signed certificate for `localhost`, made at
 * every start. Terraform pins exactly this certificate (we send it in the
 * handshake line), and we pin the one it sends in `PLUGIN_CLIENT_CERT`.
 *
 * Node can make keys and signatures but not certificates. The library that
 * can (`@peculiar/x509`) needs a Reflect metadata polyfill that is not
 * installed and takes tens of milliseconds to load at each start, so the few
 * DER structures of one fixed certificate shape are written here instead.
 *
 * What Terraform's TLS client (Go's crypto/tls) checks: the certificate is in
 * its root pool (it is, being the one we announced), it names `localhost`
 * (go-plugin sets that server name), its extended key usage allows
 * serverAuth, it is within its validity period and has a positive serial.
 * It is marked a CA with certSign usage because it is its own trust anchor.
 */
import * as crypto from 'crypto';

/** A key and its self-signed certificate. */
export interface SelfSignedCert {
  /** PKCS#8 PEM. */
  keyPem: string;
  /** PEM. */
  certPem: string;
  /** DER, as sent (base64) in the handshake line. */
  certDer: Buffer;
}

// --- DER, just the pieces one certificate needs (X.690) ---

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 + n, inner);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
/** A BIT STRING whose content is whole bytes. */
const bits = (b: Buffer, unusedBits = 0): Buffer => tlv(0x03, Buffer.from([unusedBits]), b);

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && bytes[i + 1] < 0x80) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, trimmed[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const group: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2025-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20250102030405
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** Options for {@link generateSelfSignedCert}. */
export interface CertOptions {
  /** Organization in the subject, which only shows up in debugging. */
  organization?: string;
  /** How long the certificate is valid; it only needs to outlive the process. */
  validDays?: number;
}

/** Makes a fresh ECDSA P-256 key and a self-signed certificate for `localhost`. */
export function generateSelfSignedCert(opts: CertOptions = {}): SelfSignedCert {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  // Back-dated a little against clock differences between host and plugin.
  const notBefore = new Date(now - 30_000);
  const notAfter = new Date(now + (opts.validDays ?? 30) * 86_400_000);
  const name = seq(
    set(seq(oid(OID.organization), utf8(opts.organization ?? 'appreg'))),
    set(seq(oid(OID.commonName), utf8('localhost'))),
  );
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f; // positive
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const extensions = seq(
    // digitalSignature (bit 0) and keyCertSign (bit 5): 1000 0100, the last two bits unused.
    extension(OID.keyUsage, true, bits(Buffer.from([0x84]), 2)),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))),
    extension(OID.basicConstraints, true, seq(bool(true))),
    // dNSName is [2] IMPLICIT IA5String.
    extension(OID.subjectAltName, false, seq(tlv(0x82, Buffer.from('localhost')))),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    sigAlg,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = crypto.sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const certDer = seq(tbs, sigAlg, bits(signature));
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: derToPem(certDer),
    certDer,
  };
}

/** Wraps a DER certificate in PEM armour. */
export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
