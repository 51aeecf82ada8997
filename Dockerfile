# HCC evidence dashboard: one replica. The evidence store is read-only at run
# time and versioned in git, so replicas share nothing and scale sideways.
FROM python:3.11-slim-bookworm

# chromium: server-side figure export (kaleido) and the PDF tumor-board brief render through it; no browser download.
RUN apt-get update && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 dashboard
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=dashboard:dashboard . .

USER dashboard
ENV STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    HCC_CHROMIUM=/usr/bin/chromium
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
