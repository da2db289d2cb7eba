# nrmflow behind gunicorn. Configure with NRMFLOW_* variables (see README):
# at least NRMFLOW_DATABASE_URL and NRMFLOW_SECRET_KEY in production.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 nrmflow
WORKDIR /app

COPY pyproject.toml README.md ./
COPY engine ./engine
COPY workflows ./workflows
COPY web ./web
COPY cli ./cli
COPY bpmn ./bpmn
RUN pip install . && pybabel compile -d web/translations \
    && mkdir -p /app/var && chown nrmflow:nrmflow /app/var

USER nrmflow
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"

CMD ["sh", "-c", "nrmflow db upgrade && exec gunicorn --bind 0.0.0.0:8000 --workers 2 --access-logfile - web.wsgi:app"]
