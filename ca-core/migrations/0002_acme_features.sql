-- External Account Binding keys (RFC 8555 section 7.3.4), revocation
-- bookkeeping and an index for paging through an account's orders.

-- An EAB key belongs to one provisioner and binds to at most one account.
-- The HMAC key is shown to the operator once, when caadm creates it.
CREATE TABLE eab_keys (
	id                text PRIMARY KEY,
	provisioner_id    bigint NOT NULL REFERENCES provisioners(id) ON DELETE CASCADE,
	hmac_key          bytea NOT NULL,
	reference         text,
	created_at        timestamptz NOT NULL DEFAULT now(),
	bound_account_id  text REFERENCES accounts(id) ON DELETE SET NULL,
	bound_at          timestamptz
);
CREATE INDEX eab_keys_provisioner_idx ON eab_keys (provisioner_id, created_at);
CREATE UNIQUE INDEX eab_keys_reference_idx ON eab_keys (provisioner_id, reference)
	WHERE reference IS NOT NULL;

ALTER TABLE accounts ADD COLUMN eab_key_id text;

-- Reason codes of RFC 5280 section 5.3.1; 7 is not used.
ALTER TABLE certificates ADD CONSTRAINT certificates_revocation_reason_check
	CHECK (revocation_reason IS NULL OR
	       (revocation_reason BETWEEN 0 AND 10 AND revocation_reason <> 7));

-- Orders are listed per account in (created_at, id) order, page by page.
CREATE INDEX orders_account_page_idx ON orders (account_id, created_at, id);
