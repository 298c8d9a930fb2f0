#!/usr/bin/env bash
# Makes the TLS files of a test Redis in DIR with openssl: a CA (ca.crt), a certificate for
# 127.0.0.1 it signed (server.crt/.key), a client certificate it signed (client.crt/.key), and an
# unrelated CA (other-ca.crt) that must not be trusted. Extensions as Python 3.13's strict
# verification requires (key usage on the CA, subject/authority key ids). Used by
# test/harness/tlsRedis.ts and python/tests/conftest.py.
set -euo pipefail
dir=$1
cd "$dir"
quiet() { "$@" 2>/dev/null || { "$@"; exit 1; }; }
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >server.ext
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >client.ext
for ca in ca other-ca; do
  quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca.key" -out "$ca.crt" -days 2 -subj "/CN=chartbridge test $ca" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
done
for leaf in server client; do
  quiet openssl req -newkey rsa:2048 -nodes -keyout "$leaf.key" -out "$leaf.csr" -subj "/CN=chartbridge test $leaf"
  quiet openssl x509 -req -in "$leaf.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$leaf.crt" -days 2 -extfile "$leaf.ext"
done
chmod 600 ./*.key
