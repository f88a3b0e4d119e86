import re
from pathlib import Path

from django.conf import settings

DOCS = Path(settings.BASE_DIR) / "static" / "api" / "docs.html"


def test_the_docs_page_loads_only_files_of_this_site():
    # given
    html = DOCS.read_text()
    # when
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    # then: no CDN, every file vendored next to it, no inline script for the CSP to block
    assert links
    assert not [link for link in links if "//" in link], "the docs page must load nothing from another site"
    missing = [link for link in links if not (DOCS.parent / link).resolve().is_file()]
    assert not missing, f"not vendored: {missing} (scripts/vendor_swagger_ui.sh)"
    assert re.findall(r"<script>", html) == []


def test_the_docs_page_reads_the_api_schema():
    # given
    script = (DOCS.parent / "docs.js").read_text()
    # then
    assert 'url: "/api/schema/"' in script
