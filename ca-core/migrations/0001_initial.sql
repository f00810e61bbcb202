-- Initial schema: provisioners, accounts, orders, authorizations,
-- challenges, certificates and nonces.  Object ids that appear in ACME URLs
-- are random base64url strings so that URLs reveal no counts.

CREATE TABLE provisioners (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	type        text NOT NULL CHECK (type IN ('ACME')),
	options     jsonb NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
	id              text PRIMARY KEY,
	provisioner_id  bigint NOT NULL REFERENCES provisioners(id) ON DELETE CASCADE,
	jwk             jsonb NOT NULL,
	thumbprint      text NOT NULL,
	status          text NOT NULL DEFAULT 'valid'
	                CHECK (status IN ('valid', 'deactivated', 'revoked')),
	contact         jsonb NOT NULL DEFAULT '[]',
	created_at      timestamptz NOT NULL DEFAULT now(),
	UNIQUE (provisioner_id, thumbprint)
);

CREATE TABLE orders (
	id              text PRIMARY KEY,
	account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	status          text NOT NULL DEFAULT 'pending'
	                CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
	identifiers     jsonb NOT NULL,
	not_before      timestamptz,
	not_after       timestamptz,
	expires         timestamptz NOT NULL,
	error           jsonb,
	certificate_id  text,
	created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account_idx ON orders (account_id, created_at);

CREATE TABLE authorizations (
	id                text PRIMARY KEY,
	order_id          text NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
	identifier_type   text NOT NULL,
	identifier_value  text NOT NULL,
	wildcard          boolean NOT NULL DEFAULT false,
	status            text NOT NULL DEFAULT 'pending'
	                  CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated',
	                                    'expired', 'revoked')),
	expires           timestamptz NOT NULL,
	created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX authorizations_order_idx ON authorizations (order_id);

CREATE TABLE challenges (
	id          text PRIMARY KEY,
	authz_id    text NOT NULL REFERENCES authorizations(id) ON DELETE CASCADE,
	type        text NOT NULL,
	token       text NOT NULL,
	status      text NOT NULL DEFAULT 'pending'
	            CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
	validated   timestamptz,
	error       jsonb,
	record      jsonb,
	started_at  timestamptz,
	UNIQUE (authz_id, type)
);

CREATE TABLE certificates (
	id           text PRIMARY KEY,
	serial       text NOT NULL UNIQUE,
	account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	order_id     text NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
	der          bytea NOT NULL,
	chain_pem    text NOT NULL,
	not_before   timestamptz NOT NULL,
	not_after    timestamptz NOT NULL,
	revoked_at   timestamptz,
	revocation_reason integer,
	created_at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE orders ADD CONSTRAINT orders_certificate_fk
	FOREIGN KEY (certificate_id) REFERENCES certificates(id);

-- Replay nonces: a row is inserted when a nonce is issued and deleted when it
-- is redeemed, so a replayed nonce finds no row.
CREATE TABLE nonces (
	value    text PRIMARY KEY,
	expires  timestamptz NOT NULL
);
CREATE INDEX nonces_expires_idx ON nonces (expires);
