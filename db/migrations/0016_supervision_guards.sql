-- The operation log is evidence in disputes: rows are appended, never changed or removed.
CREATE FUNCTION supervision_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the supervision log is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER supervision_log_no_update BEFORE UPDATE OR DELETE ON supervision_log
  FOR EACH ROW EXECUTE FUNCTION supervision_log_append_only();
--> statement-breakpoint
CREATE TRIGGER supervision_log_no_truncate BEFORE TRUNCATE ON supervision_log
  FOR EACH STATEMENT EXECUTE FUNCTION supervision_log_append_only();
--> statement-breakpoint
-- Whether a product is supervised is chosen at listing and cannot change once it has been on sale (spec §4).
CREATE FUNCTION products_supervised_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'draft' AND (NEW.supervised IS DISTINCT FROM OLD.supervised OR NEW.delivery_template IS DISTINCT FROM OLD.delivery_template) THEN
    RAISE EXCEPTION 'product %: supervision cannot change after listing', OLD.id USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER products_supervised_fixed BEFORE UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION products_supervised_fixed();
