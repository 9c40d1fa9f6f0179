-- A round's traffic by codec (issue 18): the bytes of updates read, by the codec their container
-- names ("masked" for a secure round's masked vectors, "unreadable" where no header could be
-- read), and of models sent, by the encoding they went in. JSON objects of byte counts; null in
-- rows written before (read as {}). Their values add up to bytes_up and bytes_down.
alter table rounds add column if not exists bytes_up_by_codec jsonb;
alter table rounds add column if not exists bytes_down_by_encoding jsonb;
-- An answered assignment's upload codec, so that a round's bytes_up_by_codec can be summed from
-- its assignments exactly as bytes_up is (server/cluster, whichever replica read the upload).
alter table assignments add column if not exists upload_codec text;
