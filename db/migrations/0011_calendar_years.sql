CREATE TABLE "calendar_years" (
	"year" integer PRIMARY KEY NOT NULL,
	"completed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_by" text
);
--> statement-breakpoint
-- 2025 and 2026 were entered from the State Council notices (0001_seed_calendar) and checked (decision 003).
INSERT INTO "calendar_years" ("year", "completed_by") VALUES (2025, 'seed'), (2026, 'seed') ON CONFLICT DO NOTHING;
