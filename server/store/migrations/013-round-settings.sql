-- A round's settings (clientsPerRound, minReports, deadlineSeconds, overSelect; server/rounds/
-- live.ts's LiveRound.settings) as its owner opened it, so that every replica runs the round by
-- the same ones: a PATCH of the task's rounds applies from the next round on all of them alike.
-- Null for rounds stored before (and in embedded mode): those read the task's spec, as before.
alter table rounds add column if not exists settings jsonb;
-- And its training settings (TrainSettings: learning rate, batch, epochs…) for the same reason.
alter table rounds add column if not exists train jsonb;
