"""Row-level security (apps.clinic.row_security): the role painreg_scoped, which the policies of the clinical tables
bind, and the functions those policies read. The role is the cluster's, not the database's (every test database
shares it): made once, if missing. It may read and write every table, sequence and function of the schema, those of
later migrations too (default privileges of the migrating user). The application's database user must be able to SET
ROLE to it: a superuser may; any other user is made a member here."""

from django.db import migrations

ROLE = """
DO $$
DECLARE
    schema text := quote_ident(current_schema());
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'painreg_scoped') THEN
        CREATE ROLE painreg_scoped NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
            AND NOT pg_has_role(current_user, 'painreg_scoped', 'MEMBER') THEN
        EXECUTE 'GRANT painreg_scoped TO ' || quote_ident(current_user);
    END IF;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || schema || ' TO painreg_scoped';
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ' || schema || ' TO painreg_scoped';
    EXECUTE 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ' || schema || ' TO painreg_scoped';
    EXECUTE 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ' || schema || ' TO painreg_scoped';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || schema || ' GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO painreg_scoped';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || schema || ' GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO painreg_scoped';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || schema || ' GRANT EXECUTE ON FUNCTIONS TO painreg_scoped';
END
$$;
"""

ROLE_REVERSE = """
DO $$
DECLARE
    schema text := quote_ident(current_schema());
BEGIN
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || schema || ' REVOKE ALL ON TABLES FROM painreg_scoped';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || schema || ' REVOKE ALL ON SEQUENCES FROM painreg_scoped';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || schema || ' REVOKE ALL ON FUNCTIONS FROM painreg_scoped';
    EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA ' || schema || ' FROM painreg_scoped';
    EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || schema || ' FROM painreg_scoped';
    EXECUTE 'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ' || schema || ' FROM painreg_scoped';
    EXECUTE 'REVOKE ALL ON SCHEMA ' || schema || ' FROM painreg_scoped';
END
$$;
"""

# No scope set (NULL: never set on this connection; '': put back at a request's end): every row.
FUNCTIONS = """
CREATE FUNCTION painreg_unscoped() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('painreg.sites', true), '') = ''
$$;

CREATE FUNCTION painreg_sites_visible(site bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT painreg_unscoped() OR site = ANY (string_to_array(current_setting('painreg.sites', true), ',')::bigint[])
$$;
"""

FUNCTIONS_REVERSE = "DROP FUNCTION painreg_sites_visible(bigint); DROP FUNCTION painreg_unscoped();"


class Migration(migrations.Migration):
    dependencies = [("clinic", "0006_site")]

    operations = [
        migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE),
        migrations.RunSQL(ROLE, ROLE_REVERSE),
    ]
