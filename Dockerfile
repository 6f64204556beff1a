# Production image: gunicorn for the web, the same image for the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 brokercrm
WORKDIR /app

COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY . .
# Settings need these to import; collectstatic opens no connection.
RUN SECRET_KEY=collectstatic DATABASE_URL=postgresql://build/build REDIS_URL=redis://build:6379/0 \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput \
    && chown -R brokercrm /app

USER brokercrm
ENV STATIC_ROOT=/app/staticfiles BROKERCRM_VAR_DIR=/tmp/brokercrm
EXPOSE 8000
CMD ["gunicorn", "brokercrm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
