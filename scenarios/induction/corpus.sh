#!/usr/bin/env bash
# Builds the induction scenario's training corpus: English prose from the documentation
# that Debian packages ship (the Python 3.11 manuals, the Linux man pages, git's manual),
# fetched with apt, cleaned to plain text, one document per file, split into train and
# validation by a hash of the document's path (so the split does not depend on order or
# on which other documents exist).
#
# Usage: scenarios/induction/corpus.sh OUT_DIR
# Writes OUT_DIR/train/*.txt, OUT_DIR/validation/*.txt and OUT_DIR/manifest.json (package
# versions, document and byte counts). Needs apt-get, dpkg, groff, python3 (stdlib only).
set -euo pipefail

out=${1:?usage: corpus.sh OUT_DIR}
packages=(python3.11-doc manpages manpages-dev git-doc)
# 1 document in VALIDATION_MODULUS goes to validation.
VALIDATION_MODULUS=${VALIDATION_MODULUS:-10}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root" "$out"
rm -rf "$out/train" "$out/validation"
mkdir -p "$out/train" "$out/validation"

(cd "$work/debs" && apt-get download "${packages[@]}")
for deb in "$work"/debs/*.deb; do
  dpkg -x "$deb" "$work/root"
done

# Man pages to plain text with groff: no hyphenation or adjustment artefacts, no overstrike.
mkdir -p "$work/man"
find "$work/root/usr/share/man" -type f -name '*.gz' | sort | while read -r page; do
  rel=${page#"$work/root/"}
  dest="$work/man/$(echo "$rel" | tr '/' '_' | sed 's/\.gz$//').txt"
  # .so redirections are aliases of another page: skip them, they hold no text.
  if zcat "$page" | head -c 4 | grep -q '^\.so'; then continue; fi
  zcat "$page" | MANWIDTH=1000 groff -t -man -Tutf8 -rLL=1000n -P -cbou 2>/dev/null \
    | sed 's/[[:space:]]\+$//' > "$dest" || true
done

python3 - "$work" "$out" "$VALIDATION_MODULUS" "${packages[@]}" <<'PY'
import hashlib, html, html.parser, json, os, re, subprocess, sys

work, out, modulus, packages = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

class Text(html.parser.HTMLParser):
    """Visible text of an HTML page; for Sphinx pages only the main body."""
    SKIP = {"script", "style", "head", "nav"}
    BLOCK = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "dt", "dd",
             "br", "table", "section", "blockquote"}
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip, self.depth, self.main_depth = [], 0, 0, None
        self.main_parts = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.SKIP: self.skip += 1
        if tag == "div":
            self.depth += 1
            if self.main_depth is None and (a.get("role") == "main" or a.get("id") == "content"):
                self.main_depth = self.depth
        if tag in self.BLOCK: self.emit("\n")
    def handle_endtag(self, tag):
        if tag in self.SKIP: self.skip = max(0, self.skip - 1)
        if tag in self.BLOCK: self.emit("\n")
        if tag == "div":
            if self.main_depth == self.depth: self.main_depth = -1
            self.depth -= 1
    def handle_data(self, data):
        if not self.skip: self.emit(data)
    def emit(self, s):
        self.parts.append(s)
        if self.main_depth is not None and self.main_depth > 0: self.main_parts.append(s)
    def text(self):
        return "".join(self.main_parts if self.main_parts else self.parts)

def clean(text):
    text = text.replace("\u00b6", "")  # Sphinx permalink pilcrows
    lines = [re.sub(r"[ \t\u00a0]+", " ", l).strip() for l in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"

docs = []
for root, _, files in os.walk(os.path.join(work, "root/usr/share/doc")):
    for f in sorted(files):
        if f.endswith(".html"):
            p = os.path.join(root, f)
            parser = Text()
            with open(p, encoding="utf-8", errors="replace") as fh:
                parser.feed(fh.read())
            docs.append((os.path.relpath(p, os.path.join(work, "root")), clean(parser.text())))
for f in sorted(os.listdir(os.path.join(work, "man"))):
    with open(os.path.join(work, "man", f), encoding="utf-8", errors="replace") as fh:
        docs.append(("man/" + f, clean(fh.read())))

counts = {"train": [0, 0], "validation": [0, 0]}
for rel, text in sorted(docs):
    if len(text) < 200:  # indexes, redirects and stubs carry no prose
        continue
    digest = hashlib.sha256(rel.encode()).hexdigest()
    split = "validation" if int(digest[:8], 16) % modulus == 0 else "train"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", rel)
    name = name if name.endswith(".txt") else name + ".txt"
    with open(os.path.join(out, split, name), "w", encoding="utf-8") as fh:
        fh.write(text)
    counts[split][0] += 1
    counts[split][1] += len(text.encode())

versions = {}
for p in packages:
    v = subprocess.run(["dpkg-deb", "-f", next(
        os.path.join(work, "debs", d) for d in os.listdir(os.path.join(work, "debs"))
        if d.startswith(p + "_")), "Version"], capture_output=True, text=True).stdout.strip()
    versions[p] = v
manifest = {
    "packages": versions,
    "split_rule": f"sha256(path)[:8] as hex % {modulus} == 0 -> validation",
    "train": {"documents": counts["train"][0], "bytes": counts["train"][1]},
    "validation": {"documents": counts["validation"][0], "bytes": counts["validation"][1]},
}
with open(os.path.join(out, "manifest.json"), "w") as fh:
    json.dump(manifest, fh, indent=2)
    fh.write("\n")
print(json.dumps(manifest, indent=2))
PY
