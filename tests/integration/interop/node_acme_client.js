// Obtain or revoke a certificate with npm's acme-client library.
//
//   node node_acme_client.js issue  DIRECTORY ACCOUNT_KEY WEBROOT CERT KEY NAME...
//   node node_acme_client.js revoke DIRECTORY ACCOUNT_KEY CERT
//
// issue registers (or reuses) the P-256 account key and runs the library's
// auto() flow, solving http-01 with files under WEBROOT.  The library's
// own pre-check of the challenge URL is skipped because it would resolve
// the test names through the system resolver.  revoke looks the account up
// with onlyReturnExisting and revokes CERT.  The library is loaded from
// NODE_PATH and the server's roots from NODE_EXTRA_CA_CERTS.  Errors go
// to stderr and make the exit status 1.

'use strict';

const fs = require('fs');
const path = require('path');
const acme = require('acme-client');

async function loadOrCreateKey(file) {
    if (!fs.existsSync(file)) {
        const key = await acme.crypto.createPrivateEcdsaKey('P-256');
        fs.writeFileSync(file, key, { mode: 0o600 });
    }
    return fs.readFileSync(file);
}

async function issue(directoryUrl, accountKeyFile, webroot, certFile, keyFile, names) {
    const client = new acme.Client({
        directoryUrl,
        accountKey: await loadOrCreateKey(accountKeyFile),
    });
    const [certKey, csr] = await acme.crypto.createCsr({
        commonName: names[0],
        altNames: names,
    }, await acme.crypto.createPrivateEcdsaKey('P-256'));

    const challengeDir = path.join(webroot, '.well-known', 'acme-challenge');
    fs.mkdirSync(challengeDir, { recursive: true });
    const cert = await client.auto({
        csr,
        email: 'node-acme@example.test',
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        skipChallengeVerification: true,
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
            if (challenge.type !== 'http-01') {
                throw new Error(`unexpected challenge type ${challenge.type}`);
            }
            fs.writeFileSync(path.join(challengeDir, challenge.token), keyAuthorization);
        },
        challengeRemoveFn: async (authz, challenge) => {
            fs.rmSync(path.join(challengeDir, challenge.token), { force: true });
        },
    });
    fs.writeFileSync(keyFile, certKey, { mode: 0o600 });
    fs.writeFileSync(certFile, cert);
}

async function revoke(directoryUrl, accountKeyFile, certFile) {
    const client = new acme.Client({
        directoryUrl,
        accountKey: await loadOrCreateKey(accountKeyFile),
    });
    await client.createAccount({ onlyReturnExisting: true });
    await client.revokeCertificate(fs.readFileSync(certFile));
}

async function main(argv) {
    const [command, ...args] = argv;
    if (command === 'issue' && args.length >= 6) {
        await issue(args[0], args[1], args[2], args[3], args[4], args.slice(5));
    } else if (command === 'revoke' && args.length === 3) {
        await revoke(args[0], args[1], args[2]);
    } else {
        throw new Error('usage: issue DIRECTORY ACCOUNT_KEY WEBROOT CERT KEY NAME... | '
            + 'revoke DIRECTORY ACCOUNT_KEY CERT');
    }
}

main(process.argv.slice(2)).catch((err) => {
    console.error(`acme-client: ${err.message}`);
    process.exit(1);
});
