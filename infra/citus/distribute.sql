-- Rendered by `python -m backend.db.distribution` from backend/db/distribution.py;
-- tests/test_citus_ready.py fails when this file differs.  Run once on the
-- coordinator, after the workers are added and the migrations applied, with
-- psql -v ON_ERROR_STOP=1 (each call moves its table's rows in its own
-- transaction).

-- Stops while tables to distribute still have triggers (they would not run there).
DO $guard$
DECLARE found text;
BEGIN
    SELECT string_agg(tgrelid::regclass || '.' || tgname, ', '
                      ORDER BY tgrelid::regclass::text, tgname) INTO found
    FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY(ARRAY['core.person', 'core.person_status', 'core.category_membership', 'core.status_history', 'core.access_log', 'core.contribution', 'core.service_payment', 'core.dispute', 'core.dispute_event']::regclass[]);
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'replace the triggers on tables to distribute first'
                        ' (infra/citus/PLAN.md): %', found;
    END IF;
END $guard$;

-- Reference tables: a copy on every node.
SELECT create_reference_table('core.region');
SELECT create_reference_table('core.preferential_category');
SELECT create_reference_table('core.medical_service');
SELECT create_reference_table('core.minimum_wage');
SELECT create_reference_table('core.contribution_rate');
SELECT create_reference_table('core.payee_account');
SELECT create_reference_table('core.payer');
SELECT create_reference_table('core.provider');
SELECT create_reference_table('core.ingestion_batch');

-- Distributed by the person, co-located with core.person.
SELECT create_distributed_table('core.person', 'id', colocate_with => 'none');
SELECT create_distributed_table('core.person_status', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.category_membership', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.status_history', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.access_log', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.contribution', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.service_payment', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.dispute', 'person_id', colocate_with => 'core.person');
SELECT create_distributed_table('core.dispute_event', 'person_id', colocate_with => 'core.person');

-- Local to the coordinator (not distributed):
--   auth.client
--   auth.consent_challenge
--   auth.consent_code
--   auth.consent_window
--   auth.desk_session
--   auth.login_challenge
--   auth.onboarding_code
--   auth.refresh_token
--   auth.session_family
--   auth.signing_key
--   auth.staff_account
--   auth.staff_audit
--   auth.staff_setup_code
--   auth.throttle
--   core.contribution_key
--   core.guardianship
--   core.person_iin
--   core.retention_horizon
--   core.service_payment_key
--   notify.announcement
--   notify.delivery
--   notify.device
--   notify.notification
--   notify.outbox
--   notify.preference
--   notify.quiet_hours
--   notify.sms_delivery
--   public.alembic_version
--   stats.cash_day
--   stats.cash_day_delta
--   stats.cash_month
--   stats.disputes
--   stats.disputes_delta
--   stats.edition
--   stats.insured
--   stats.insured_now
--   stats.insured_now_delta
--   stats.money_in
--   stats.money_in_delta
--   stats.money_out
--   stats.money_out_delta
--   stats.month_change
--   stats.provider_flags
--   stats.provider_flags_delta
--   stats.release
--   stats.release_cell
--   tlog.checkpoint
--   tlog.leaf
--   tlog.pending
--   tlog.tile
--   tlog.witness
