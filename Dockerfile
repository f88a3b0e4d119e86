# One image for every process of a deployment: web (gunicorn), Celery worker, Celery beat, migrations.
# See docker-compose.yml.
FROM python:3.12-slim

# The environment lives outside /app, so copying the code in cannot clobber it; uv uses the image's
# Python rather than downloading one.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app

# Dependencies first, in their own layer: editing code does not reinstall them. No dev group: the image
# needs neither the test tools nor the embedded PostgreSQL/Valkey used by `make run`.
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-cache

COPY . .

# Static files are collected into the image (served by WhiteNoise), so every web replica has the same.
# Production settings insist on these variables; the values here serve this step only.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost EMAIL_URL=consolemail:// \
    python manage.py collectstatic --noinput

# Run unprivileged.
RUN useradd --system --user-group --home-dir /app app
# Report files and registry uploads (a volume in docker-compose.yml): the volume starts with this owner.
RUN mkdir -p /app/media && chown app:app /app/media
USER app

EXPOSE 8000
# Worker processes: WEB_CONCURRENCY (gunicorn reads it), default 1; docker-compose.yml sets 3.
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
