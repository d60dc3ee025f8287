"""Builds the offline spaCy pipeline the NLU uses: blank English + lookup lemmatizer.

spaCy's pretrained English pipelines cannot be downloaded here, and none is needed: Rasa's
SpacyTokenizer only needs tokens and lemmas. The lemma tables come from the installed
``spacy-lookups-data`` package and are saved with the pipeline, so nothing is fetched at run time.
The pipeline is rebuilt only when this script changes (its hash is stored beside the pipeline).
"""

import hashlib
import logging
import sys
from pathlib import Path

import spacy

logger = logging.getLogger(__name__)

PIPELINE_DIR = Path(__file__).resolve().parent.parent / "build" / "spacy-en-clinic"
STAMP_FILE = PIPELINE_DIR / ".built-from"


def script_hash() -> str:
    """Hash of this script and the spaCy version, so a change to either rebuilds."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(spacy.__version__.encode())
    return digest.hexdigest()


def build(target: Path) -> None:
    """Create the blank English pipeline with a lookup lemmatizer and save it to ``target``."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup table from spacy-lookups-data
    nlp.meta["name"] = "en_clinic_blank"
    nlp.meta["description"] = "Blank English tokenizer + lookup lemmatizer (offline)."
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)


def main() -> int:
    """Build the pipeline if it is missing or out of date."""
    wanted = script_hash()
    if STAMP_FILE.exists() and STAMP_FILE.read_text().strip() == wanted:
        print("[setup] spaCy pipeline up to date:", PIPELINE_DIR)
        return 0
    print("[setup] building the offline spaCy pipeline:", PIPELINE_DIR)
    build(PIPELINE_DIR)
    check = spacy.load(PIPELINE_DIR)
    lemmas = [t.lemma_ for t in check("the muscles were lifted")]
    if lemmas[1] != "muscle":
        print("[setup] the lemmatizer did not load its tables:", lemmas, file=sys.stderr)
        return 1
    STAMP_FILE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
