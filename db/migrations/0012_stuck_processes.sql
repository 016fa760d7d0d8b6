CREATE TABLE "stuck_processes" (
	"workflow_id" text PRIMARY KEY NOT NULL,
	"workflow_type" text NOT NULL,
	"subject_id" text NOT NULL,
	"step" text NOT NULL,
	"failure_type" text NOT NULL,
	"message" text NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"next_check_at" timestamp with time zone,
	"rechecks" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolved_by" text
);
--> statement-breakpoint
CREATE INDEX "stuck_processes_open" ON "stuck_processes" USING btree ("since") WHERE resolved_at is null;