"""Generate the project's tokenizer-training corpus (python/mlx_runtime/corpus/*.txt).

The corpus is original English prose produced by a small seeded grammar, plus a
hand-written preface. It is committed; this script documents how it was made and
reproduces it byte for byte (`python tools/gen_corpus.py`).
"""

import random
from pathlib import Path

SEED = 20240501
OUT = Path(__file__).resolve().parent.parent / "mlx_runtime" / "corpus"

NAMES = ["Ada", "Ben", "Clara", "Daniel", "Edith", "Felix", "Grace", "Henry", "Iris",
         "James", "Kate", "Leo", "Mara", "Noah", "Olive", "Peter", "Quinn", "Rosa",
         "Samuel", "Tessa", "Victor", "Wendy", "the miller", "the old sailor",
         "the young teacher", "the baker", "the captain", "the shepherd", "the clerk"]
PLACES = ["the harbour", "the village square", "the quiet library", "the northern hills",
          "the river bank", "the old mill", "the market", "the lighthouse", "the orchard",
          "the railway station", "the garden behind the house", "the forest path",
          "the workshop", "the small school", "the bridge", "the kitchen", "the meadow"]
NOUNS = ["letter", "lantern", "map", "basket of apples", "wooden box", "song", "storm",
         "bell", "key", "book of poems", "clock", "boat", "window", "kettle", "coat",
         "road", "candle", "garden", "question", "promise", "story", "bridge", "horse",
         "message", "compass", "loaf of bread", "ladder", "violin", "painting", "door"]
ADJS = ["quiet", "bright", "old", "careful", "patient", "cold", "warm", "strange",
        "gentle", "heavy", "small", "curious", "silver", "narrow", "golden", "tired",
        "early", "distant", "simple", "clever", "honest", "busy", "sleepy", "brave"]
VERBS_T = ["found", "carried", "opened", "mended", "painted", "counted", "watched",
           "followed", "remembered", "wrote", "read", "cleaned", "lost", "sold", "built",
           "borrowed", "returned", "described", "noticed", "kept"]
VERBS_I = ["waited", "laughed", "listened", "walked home", "sang softly", "slept",
           "worked late", "smiled", "hurried", "paused", "wondered", "rested"]
TIMES = ["In the morning", "At dusk", "Before the rain", "Late that night", "On Sunday",
         "After supper", "In early spring", "When the bell rang", "Later", "Once",
         "During the long winter", "At noon", "By the time the tide turned"]
CONNECT = ["because", "although", "while", "until", "so that", "before", "after"]
TOPICS = ["the weather", "the harvest", "numbers", "old ships", "the stars", "music",
          "bread", "rivers", "machines", "letters", "friendship", "the sea", "maps",
          "gardens", "clocks", "bridges", "the seasons", "birds", "trains", "books"]
FACTS = [
    "Water boils at one hundred degrees Celsius at sea level.",
    "A week has seven days and a year has twelve months.",
    "The sun rises in the east and sets in the west.",
    "Bees carry pollen from flower to flower.",
    "A triangle has three sides and three corners.",
    "Ice is lighter than water, so it floats.",
    "Sound travels faster through water than through air.",
    "The moon reflects the light of the sun.",
    "Bread rises because yeast makes small bubbles of gas.",
    "Rivers flow from high ground toward the sea.",
    "Two plus two is four, and ten times ten is one hundred.",
    "Trees grow a new ring of wood every year.",
]


def sentence(r: random.Random) -> str:
    k = r.randrange(8)
    n1, n2 = r.choice(NAMES), r.choice(NAMES)
    if k == 0:
        s = f"{r.choice(TIMES)}, {n1} {r.choice(VERBS_T)} the {r.choice(ADJS)} {r.choice(NOUNS)} near {r.choice(PLACES)}."
    elif k == 1:
        s = f"{n1} {r.choice(VERBS_I)} {r.choice(CONNECT)} {n2} {r.choice(VERBS_T)} the {r.choice(NOUNS)}."
    elif k == 2:
        s = f"\"Have you seen the {r.choice(ADJS)} {r.choice(NOUNS)}?\" asked {n1}. \"It was in {r.choice(PLACES)},\" said {n2}."
    elif k == 3:
        s = f"The {r.choice(NOUNS)} in {r.choice(PLACES)} was {r.choice(ADJS)} and {r.choice(ADJS)}."
    elif k == 4:
        s = f"{n1} liked to talk about {r.choice(TOPICS)}, and {n2} liked to listen."
    elif k == 5:
        s = r.choice(FACTS)
    elif k == 6:
        s = f"There were {r.randint(2, 99)} {r.choice(NOUNS)}s in {r.choice(PLACES)}, and {n1} counted every one of them."
    else:
        s = f"{r.choice(TIMES)} the {r.choice(ADJS)} wind came down from {r.choice(PLACES)}, and {n1} {r.choice(VERBS_I)}."
    return s[0].upper() + s[1:]


def paragraph(r: random.Random) -> str:
    return " ".join(sentence(r) for _ in range(r.randint(3, 7)))


def dialogue(r: random.Random) -> str:
    topic = r.choice(TOPICS)
    lines = [f"User: Can you tell me something about {topic}?",
             f"Assistant: Of course. {paragraph(r)}",
             "User: Thank you. What else should I know?",
             f"Assistant: {paragraph(r)}"]
    return "\n".join(lines)


PREFACE = """A Note on This Text

This collection of short passages was written for one plain purpose: to teach a small
tokenizer what ordinary English looks like. The passages describe villages, rivers,
harbours and workshops; people who mend things, count things and talk about the
weather. None of it is true and none of it is meant to be. It is free for any use.

The sentences are simple on purpose. Common words repeat often, so that the tokenizer
learns them as whole pieces, while rarer words are split into smaller parts. Numbers,
punctuation, quotation marks and short dialogues appear too, because a model that
serves people must read questions and answers as well as stories.
"""


def main() -> None:
    r = random.Random(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    parts = [PREFACE]
    for chapter in range(1, 41):
        parts.append(f"\nChapter {chapter}\n")
        for _ in range(r.randint(5, 9)):
            parts.append(paragraph(r) + "\n")
        parts.append(dialogue(r) + "\n")
    (OUT / "stories.txt").write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
