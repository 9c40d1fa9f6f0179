import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generate } from 'selfsigned'

export interface TlsFiles {
  key: string
  cert: string
  /** Where they came from, for the start-up message. */
  source: string
}

/**
 * A certificate for phones' secure context. Given files win; otherwise a self-signed one for
 * localhost and this machine's addresses, made once and kept in the data dir (phones must
 * accept it once, by hand).
 */
export async function selfSignedCertificate(
  dataDir: string,
  addresses: string[],
): Promise<TlsFiles> {
  const dir = join(dataDir, 'tls')
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  const names = JSON.stringify(['localhost', ...addresses].sort())
  const existing = await Promise.all([
    readFile(keyFile, 'utf8'),
    readFile(certFile, 'utf8'),
    readFile(join(dir, 'names.json'), 'utf8'),
  ]).catch(() => undefined)
  if (existing && existing[2] === names)
    return { key: existing[0], cert: existing[1], source: certFile }

  const pems = await generate([{ name: 'commonName', value: 'Pollen coordinator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          ...['127.0.0.1', ...addresses].map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  })
  await mkdir(dir, { recursive: true })
  await writeFile(keyFile, pems.private, { mode: 0o600 })
  await writeFile(certFile, pems.cert)
  await writeFile(join(dir, 'names.json'), names)
  return { key: pems.private, cert: pems.cert, source: `${certFile} (self-signed, generated)` }
}
