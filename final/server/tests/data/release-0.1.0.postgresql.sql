-- A jim-server 0.1.0 database (schema 3) on PostgreSQL, made by that release's Storage
-- (pg_dump --no-owner): the migration test restores it into a new database.
CREATE TABLE public.contacts (
    id integer NOT NULL,
    user_id integer NOT NULL,
    contact_id integer NOT NULL
);
CREATE SEQUENCE public.contacts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.contacts_id_seq OWNED BY public.contacts.id;
CREATE TABLE public.messages (
    id integer NOT NULL,
    "time" double precision NOT NULL,
    sender character varying(25) NOT NULL,
    "to" character varying(26) NOT NULL,
    text character varying NOT NULL,
    encoding character varying(20) DEFAULT 'utf-8'::character varying NOT NULL
);
CREATE SEQUENCE public.messages_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.messages_id_seq OWNED BY public.messages.id;
CREATE TABLE public.pending (
    id integer NOT NULL,
    recipient character varying(25) NOT NULL,
    message_id integer NOT NULL
);
CREATE SEQUENCE public.pending_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.pending_id_seq OWNED BY public.pending.id;
CREATE TABLE public.public_keys (
    user_id integer NOT NULL,
    key character varying NOT NULL
);
CREATE TABLE public.schema_version (
    version integer NOT NULL
);
CREATE SEQUENCE public.schema_version_version_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.schema_version_version_seq OWNED BY public.schema_version.version;
CREATE TABLE public.users (
    id integer NOT NULL,
    name character varying(25) NOT NULL,
    salt bytea NOT NULL,
    iterations integer NOT NULL,
    stored_key bytea NOT NULL,
    server_key bytea NOT NULL,
    created timestamp without time zone NOT NULL,
    last_seen double precision
);
CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;
ALTER TABLE ONLY public.contacts ALTER COLUMN id SET DEFAULT nextval('public.contacts_id_seq'::regclass);
ALTER TABLE ONLY public.messages ALTER COLUMN id SET DEFAULT nextval('public.messages_id_seq'::regclass);
ALTER TABLE ONLY public.pending ALTER COLUMN id SET DEFAULT nextval('public.pending_id_seq'::regclass);
ALTER TABLE ONLY public.schema_version ALTER COLUMN version SET DEFAULT nextval('public.schema_version_version_seq'::regclass);
ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);
INSERT INTO public.contacts VALUES (1, 1, 2);
INSERT INTO public.messages VALUES (1, 10, 'alice', '#all', 'seen by bob while online', 'utf-8');
INSERT INTO public.messages VALUES (2, 10.2, 'alice', 'bob', 'delivered to bob live', 'utf-8');
INSERT INTO public.messages VALUES (3, 11, 'alice', '#all', 'missed by bob', 'utf-8');
INSERT INTO public.messages VALUES (4, 12, 'alice', 'bob', 'kept for bob 1', 'utf-8');
INSERT INTO public.messages VALUES (5, 13, 'carol', 'bob', 'kept for bob 2', 'utf-8');
INSERT INTO public.messages VALUES (6, 14, 'alice', 'carol', 'kept for carol', 'utf-8');
INSERT INTO public.pending VALUES (1, 'bob', 4);
INSERT INTO public.pending VALUES (2, 'bob', 5);
INSERT INTO public.pending VALUES (3, 'carol', 6);
INSERT INTO public.public_keys VALUES (2, 'QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=');
INSERT INTO public.schema_version VALUES (3);
INSERT INTO public.users VALUES (1, 'alice', '\xbbd53b7a73ec1b544eaf57e287887448', 4096, '\xf2edbe03eb2d6b779462cd6534d6c1b266c2b3d160df09a51366614019e332a2', '\x0b437656d8b43c1b31f0224dff5fcd23b4b5cc60a2965a85101a2cd761896db5', '2026-11-27 23:53:56.688281', NULL);
INSERT INTO public.users VALUES (3, 'carol', '\xb9b5fb5c623b0e7d0acfedcc8739fb4c', 4096, '\xb813024152d8bc5a2cb88610eb98bfb84aea9d730423e3ba4aa31c622a5acd48', '\xdd6c15c8a3a38e1090510286cea334a0b485551997463e5ea95853fa00344536', '2026-11-27 23:53:56.700342', NULL);
INSERT INTO public.users VALUES (2, 'bob', '\x44fce7a1495d3706e001fdb516a82bb4', 4096, '\x2af8e42e6c676127cd25c6125b414fa63050b0d10f5bd8ca6400a1eb7e0274dd', '\xe0f35e0408d4a67dce5fb811e2213c9f27e4660d9585a38d71ca658922e7646c', '2026-11-27 23:53:56.695323', 10.5);
SELECT pg_catalog.setval('public.contacts_id_seq', 1, true);
SELECT pg_catalog.setval('public.messages_id_seq', 6, true);
SELECT pg_catalog.setval('public.pending_id_seq', 3, true);
SELECT pg_catalog.setval('public.schema_version_version_seq', 1, false);
SELECT pg_catalog.setval('public.users_id_seq', 3, true);
ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_user_id_contact_id_key UNIQUE (user_id, contact_id);
ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.pending
    ADD CONSTRAINT pending_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.public_keys
    ADD CONSTRAINT public_keys_pkey PRIMARY KEY (user_id);
ALTER TABLE ONLY public.schema_version
    ADD CONSTRAINT schema_version_pkey PRIMARY KEY (version);
ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_name_key UNIQUE (name);
ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);
CREATE INDEX ix_pending_recipient ON public.pending USING btree (recipient);
ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES public.users(id);
ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);
ALTER TABLE ONLY public.pending
    ADD CONSTRAINT pending_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id);
ALTER TABLE ONLY public.public_keys
    ADD CONSTRAINT public_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);
