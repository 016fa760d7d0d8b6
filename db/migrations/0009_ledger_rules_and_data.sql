-- The ledger's rules, enforced by the database (docs/decisions/009-double-entry-ledger.md), and the move of
-- the old single-entry `ledger` rows and `accounts` balances onto it.

-- 1. Every transaction has two or more entries and they sum to zero, checked at commit (deferred), so a
--    transaction's entries may be written in any order inside one database transaction.
CREATE FUNCTION ledger_assert_balanced(txn bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE n integer; total numeric;
BEGIN
  SELECT count(*), coalesce(sum(amount_cents), 0) INTO n, total FROM ledger_entries WHERE transaction_id = txn;
  IF n < 2 OR total <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % is unbalanced: % entries summing to %', txn, n, total
      USING ERRCODE = '23514', CONSTRAINT = 'ledger_transactions_balanced';
  END IF;
END $$;
--> statement-breakpoint
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM ledger_assert_balanced(NEW.id); RETURN NULL; END $$;
--> statement-breakpoint
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM ledger_assert_balanced(NEW.transaction_id); RETURN NULL; END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
--> statement-breakpoint

-- 2. The ledger is append-only: a mistake is corrected by a new transaction, never by an edit.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = '42501'; END $$;
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
--> statement-breakpoint
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
--> statement-breakpoint

-- 3. A kept balance (buyers') moves only with its entries: each entry adds to it, and nothing else may change it.
--    A row that fails the non-negative check aborts the entry that caused it.
CREATE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_accounts SET balance_cents = balance_cents + NEW.amount_cents
    WHERE id = NEW.account_id AND balance_cents IS NOT NULL;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();
--> statement-breakpoint
CREATE FUNCTION ledger_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Depth 1 is a statement of its own; the entry trigger's update runs at depth 2.
  IF TG_OP = 'INSERT' AND coalesce(NEW.balance_cents, 0) <> 0 THEN
    RAISE EXCEPTION 'a ledger account opens at zero; money arrives by a transaction' USING ERRCODE = '42501';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.balance_cents IS DISTINCT FROM OLD.balance_cents AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'ledger balances change only through entries' USING ERRCODE = '42501';
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.kind <> OLD.kind OR NEW.id <> OLD.id) THEN
    RAISE EXCEPTION 'a ledger account keeps its id and kind' USING ERRCODE = '42501';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'ledger accounts are never deleted' USING ERRCODE = '42501';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
--> statement-breakpoint
CREATE TRIGGER ledger_accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_balance_guard();
--> statement-breakpoint

-- 4. The marketplace's own accounts.
INSERT INTO ledger_accounts (id, kind) VALUES
  ('marketplace:clearing', 'clearing'), ('marketplace:commission', 'commission'), ('marketplace:payments', 'payments');
--> statement-breakpoint

-- 5. Existing money moves onto the ledger, in the order it happened.
DO $$
DECLARE r record; l record; txn bigint; chg bigint; fee bigint;
BEGIN
  INSERT INTO ledger_accounts (id, kind, owner_id, balance_cents)
    SELECT 'buyer:' || p, 'buyer', p, 0 FROM (SELECT principal_id AS p FROM accounts UNION SELECT principal_id FROM ledger) x;

  -- Top-ups wrote no ledger rows: what a balance holds beyond its rows opens the account, before anything else.
  FOR r IN SELECT a.principal_id, a.balance_cents - coalesce((SELECT sum(g.amount_cents) FROM ledger g WHERE g.principal_id = a.principal_id), 0) AS diff
           FROM accounts a LOOP
    IF r.diff <> 0 THEN
      INSERT INTO ledger_transactions (key, kind, buyer_id, gross_cents, memo)
        VALUES ('opening:' || r.principal_id, 'top_up', r.principal_id, r.diff, 'opening balance: top-ups before the double-entry ledger')
        RETURNING id INTO txn;
      INSERT INTO ledger_entries (transaction_id, account_id, amount_cents)
        VALUES (txn, 'marketplace:payments', -r.diff), (txn, 'buyer:' || r.principal_id, r.diff);
    END IF;
  END LOOP;

  FOR r IN SELECT * FROM ledger ORDER BY id LOOP
    IF r.dedupe_key LIKE 'charge:%' THEN
      -- One charge per order became one per line: the seller's view and the refunds are per line.
      FOR l IN SELECT * FROM order_lines WHERE order_id = r.order_id ORDER BY id LOOP
        INSERT INTO ledger_transactions (key, kind, sale, order_id, order_line_id, buyer_id, merchant_id, product_id, gross_cents, memo, at)
          VALUES ('charge:' || l.id, 'charge', 'new', l.order_id, l.id, r.principal_id, l.merchant_id, l.product_id, l.price_cents, 'order', r.at)
          RETURNING id INTO txn;
        INSERT INTO ledger_entries (transaction_id, account_id, amount_cents)
          VALUES (txn, 'buyer:' || r.principal_id, -l.price_cents), (txn, 'marketplace:clearing', l.price_cents);
      END LOOP;
    ELSIF r.dedupe_key LIKE 'refund:%' THEN
      SELECT t.id INTO chg FROM ledger_transactions t WHERE t.key = 'charge:' || substr(r.dedupe_key, 8);
      SELECT * INTO l FROM order_lines WHERE id = substr(r.dedupe_key, 8);
      INSERT INTO ledger_transactions (key, kind, sale, order_id, order_line_id, buyer_id, merchant_id, product_id, charge_id, gross_cents, memo, at)
        VALUES (r.dedupe_key, 'refund', 'new', r.order_id, l.id, r.principal_id, l.merchant_id, l.product_id, chg, r.amount_cents, r.reason, r.at)
        RETURNING id INTO txn;
      INSERT INTO ledger_entries (transaction_id, account_id, amount_cents)
        VALUES (txn, 'marketplace:clearing', -r.amount_cents), (txn, 'buyer:' || r.principal_id, r.amount_cents);
    ELSE
      INSERT INTO ledger_transactions (key, kind, buyer_id, gross_cents, memo, at)
        VALUES ('legacy:' || r.dedupe_key, 'top_up', r.principal_id, r.amount_cents, r.reason, r.at) RETURNING id INTO txn;
      INSERT INTO ledger_entries (transaction_id, account_id, amount_cents)
        VALUES (txn, 'marketplace:payments', -r.amount_cents), (txn, 'buyer:' || r.principal_id, r.amount_cents);
    END IF;
  END LOOP;

  -- Delivered lines were sold: the seller's share and the commission leave the clearing account.
  FOR l IN SELECT ol.*, p.commission_rate_bp, t.id AS charge FROM order_lines ol
           JOIN products p ON p.id = ol.product_id JOIN ledger_transactions t ON t.key = 'charge:' || ol.id
           WHERE ol.status = 'delivered' AND ol.price_cents > 0 ORDER BY ol.updated_at LOOP
    fee := (l.price_cents::bigint * l.commission_rate_bp + 5000) / 10000;
    INSERT INTO ledger_accounts (id, kind, owner_id) VALUES ('seller:' || l.merchant_id, 'seller_payable', l.merchant_id) ON CONFLICT DO NOTHING;
    INSERT INTO ledger_transactions (key, kind, sale, order_id, order_line_id, instance_id, buyer_id, merchant_id, product_id, charge_id, gross_cents, commission_cents, memo, at)
      SELECT 'settle:' || l.id, 'settlement', 'new', l.order_id, l.id, l.instance_id, c.buyer_id, l.merchant_id, l.product_id, l.charge, l.price_cents, fee, 'delivered', l.updated_at
      FROM ledger_transactions c WHERE c.id = l.charge
      RETURNING id INTO txn;
    INSERT INTO ledger_entries (transaction_id, account_id, amount_cents)
      SELECT txn, a, v FROM (VALUES ('marketplace:clearing', -l.price_cents::bigint), ('seller:' || l.merchant_id, l.price_cents - fee), ('marketplace:commission', fee)) e(a, v)
      WHERE v <> 0;
  END LOOP;

  IF EXISTS (SELECT 1 FROM accounts a JOIN ledger_accounts la ON la.id = 'buyer:' || a.principal_id WHERE la.balance_cents <> a.balance_cents) THEN
    RAISE EXCEPTION 'moving balances onto the ledger changed one; nothing was moved';
  END IF;
END $$;
