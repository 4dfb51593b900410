"""The Spanish-English lexicon of the generated translation corpus.

Every entry carries what agreement needs: nouns their gender and both numbers, adjectives
their four forms, verbs their present tense in both languages. Nouns have semantic kinds
and verbs say which kinds they take, so that sentences make sense ("the dog eats the
apple", never "the table eats the song"). Every Spanish word has exactly one English
translation in a given context, so each Spanish sentence has one correct translation.
"""

import dataclasses

# Grammatical persons used by the grammar: singular and plural, first to third person.
# (Second person plural is left out: Latin-American "ustedes" and Spanish "vosotros"
# would both be "you".)
PERSONS = ("1sg", "2sg", "3sg", "1pl", "3pl")


@dataclasses.dataclass(frozen=True)
class Noun:
    """A noun: `gender` is "m", "f", or "mf" for nouns that take either (el/la estudiante)."""

    spanish: str
    spanish_plural: str
    gender: str
    english: str
    english_plural: str
    kinds: frozenset


@dataclasses.dataclass(frozen=True)
class Adjective:
    """An adjective: Spanish forms keyed by (gender, number); `predicative` if "es <adj>" is idiomatic."""

    forms: dict
    english: str
    kinds: frozenset
    predicative: bool = True


@dataclasses.dataclass(frozen=True)
class Verb:
    """A verb in the present tense.

    Attributes:
        spanish: forms keyed by person ("1sg", ..., "3pl").
        english: the base form ("eat"); may be two words ("look for").
        english_third: the third person singular ("eats").
        subject_kinds: noun kinds that can be the subject; pronouns count as "person".
        object_kinds: noun kinds that can be the object; empty for intransitive verbs.
        personal_a: whether a person or animal object takes Spanish "a" ("ve al perro").
        needs_place: intransitive verbs that need "en <place>" ("vive en la ciudad").
    """

    spanish: dict
    english: str
    english_third: str
    subject_kinds: frozenset
    object_kinds: frozenset = frozenset()
    personal_a: bool = False
    needs_place: bool = False


def _noun(spanish, gender, english, kinds, *, spanish_plural=None, english_plural=None):
    if spanish_plural is None:
        spanish_plural = spanish + ("s" if spanish[-1] in "aeiouáéó" else "es")
    if english_plural is None:
        english_plural = english + ("es" if english.endswith(("s", "x", "ch", "sh")) else "s")
    return Noun(spanish, spanish_plural, gender, english, english_plural, frozenset(kinds.split()))


PERSON, ANIMAL, FOOD, THING, PLACE = "person", "animal", "food", "thing", "place"
ANIMATE = frozenset({PERSON, ANIMAL})

NOUNS = (
    # People.
    _noun("hombre", "m", "man", "person", english_plural="men"),
    _noun("mujer", "f", "woman", "person", english_plural="women"),
    _noun("niño", "m", "boy", "person"),
    _noun("niña", "f", "girl", "person"),
    _noun("profesor", "m", "teacher", "person"),
    _noun("profesora", "f", "teacher", "person"),
    _noun("estudiante", "mf", "student", "person"),
    _noun("amigo", "m", "friend", "person"),
    _noun("amiga", "f", "friend", "person"),
    _noun("hermano", "m", "brother", "person"),
    _noun("hermana", "f", "sister", "person"),
    _noun("vecino", "m", "neighbor", "person"),
    _noun("vecina", "f", "neighbor", "person"),
    _noun("médico", "m", "doctor", "person"),
    _noun("escritor", "m", "writer", "person"),
    # Animals.
    _noun("perro", "m", "dog", "animal"),
    _noun("gato", "m", "cat", "animal"),
    _noun("caballo", "m", "horse", "animal"),
    _noun("pájaro", "m", "bird", "animal"),
    _noun("ratón", "m", "mouse", "animal", spanish_plural="ratones", english_plural="mice"),
    _noun("vaca", "f", "cow", "animal"),
    _noun("oveja", "f", "sheep", "animal", english_plural="sheep"),
    _noun("pez", "m", "fish", "animal", spanish_plural="peces", english_plural="fish"),
    _noun("conejo", "m", "rabbit", "animal"),
    _noun("pato", "m", "duck", "animal"),
    _noun("tortuga", "f", "turtle", "animal"),
    _noun("león", "m", "lion", "animal", spanish_plural="leones"),
    _noun("mono", "m", "monkey", "animal"),
    # Food.
    _noun("manzana", "f", "apple", "food"),
    _noun("naranja", "f", "orange", "food"),
    _noun("pastel", "m", "cake", "food"),
    _noun("galleta", "f", "cookie", "food"),
    _noun("sopa", "f", "soup", "food"),
    _noun("queso", "m", "cheese", "food"),
    _noun("huevo", "m", "egg", "food"),
    _noun("tomate", "m", "tomato", "food", english_plural="tomatoes"),
    _noun("plátano", "m", "banana", "food"),
    _noun("uva", "f", "grape", "food"),
    _noun("zanahoria", "f", "carrot", "food"),
    # Things; the extra kinds say what can be read, opened, broken, washed or used.
    _noun("libro", "m", "book", "thing writing openable"),
    _noun("carta", "f", "letter", "thing writing openable"),
    _noun("periódico", "m", "newspaper", "thing writing"),
    _noun("revista", "f", "magazine", "thing writing"),
    _noun("mensaje", "m", "message", "thing writing"),
    _noun("poema", "m", "poem", "thing writing"),
    _noun("mesa", "f", "table", "thing breakable"),
    _noun("silla", "f", "chair", "thing breakable"),
    _noun("cama", "f", "bed", "thing"),
    _noun("puerta", "f", "door", "thing openable"),
    _noun("ventana", "f", "window", "thing openable breakable"),
    _noun("caja", "f", "box", "thing openable"),
    _noun("llave", "f", "key", "thing tool"),
    _noun("coche", "m", "car", "thing tool washable"),
    _noun("bicicleta", "f", "bicycle", "thing tool breakable"),
    _noun("teléfono", "m", "phone", "thing tool breakable"),
    _noun("reloj", "m", "clock", "thing breakable"),
    _noun("lápiz", "m", "pencil", "thing tool breakable", spanish_plural="lápices"),
    _noun("vaso", "m", "glass", "thing tool breakable washable"),
    _noun("taza", "f", "cup", "thing tool breakable washable"),
    _noun("plato", "m", "plate", "thing tool breakable washable"),
    _noun("camisa", "f", "shirt", "thing washable"),
    _noun("zapato", "m", "shoe", "thing washable"),
    _noun("sombrero", "m", "hat", "thing washable"),
    _noun("pelota", "f", "ball", "thing"),
    _noun("paraguas", "m", "umbrella", "thing tool openable", spanish_plural="paraguas"),
    _noun("maleta", "f", "suitcase", "thing openable"),
    _noun("cuchillo", "m", "knife", "thing tool", english_plural="knives"),
    # Places ("en el parque" is always "in the park").
    _noun("ciudad", "f", "city", "place", english_plural="cities"),
    _noun("parque", "m", "park", "place"),
    _noun("jardín", "m", "garden", "place", spanish_plural="jardines"),
    _noun("bosque", "m", "forest", "place"),
    _noun("río", "m", "river", "place"),
    _noun("pueblo", "m", "village", "place"),
    _noun("escuela", "f", "school", "place"),
    _noun("oficina", "f", "office", "place"),
    _noun("mercado", "m", "market", "place"),
    _noun("museo", "m", "museum", "place"),
    _noun("lago", "m", "lake", "place"),
)


def _adjective(
    masculine, english, kinds, *, feminine=None, plural=None, feminine_plural=None, predicative=True
):
    """Builds the four forms: -o/-a/-os/-as, or invariable in gender (-e, -l, -z, ...)."""
    if feminine is None:
        feminine = masculine[:-1] + "a" if masculine.endswith("o") else masculine
    if plural is None:
        plural = masculine + ("s" if masculine[-1] in "aeiou" else "es")
    if feminine_plural is None:
        feminine_plural = feminine + "s" if feminine != masculine else plural
    forms = {
        ("m", "sg"): masculine,
        ("f", "sg"): feminine,
        ("m", "pl"): plural,
        ("f", "pl"): feminine_plural,
    }
    return Adjective(forms, english, frozenset(kinds.split()), predicative)


_COLOURED = "animal food thing"
_ANY = "person animal food thing place"
ADJECTIVES = (
    _adjective("negro", "black", _COLOURED),
    _adjective("blanco", "white", _COLOURED),
    _adjective("rojo", "red", _COLOURED),
    _adjective("amarillo", "yellow", _COLOURED),
    _adjective("verde", "green", _COLOURED),
    _adjective("azul", "blue", "thing"),
    _adjective("gris", "gray", "animal thing"),
    _adjective("marrón", "brown", "animal thing", plural="marrones"),
    _adjective("pequeño", "small", _ANY),
    _adjective("grande", "big", _ANY),
    _adjective("enorme", "huge", _ANY),
    _adjective("nuevo", "new", "thing place"),
    _adjective("viejo", "old", "person animal thing place"),
    _adjective("antiguo", "ancient", "thing place"),
    _adjective("moderno", "modern", "thing place"),
    _adjective("bonito", "pretty", _ANY),
    _adjective("feo", "ugly", _ANY),
    _adjective("hermoso", "beautiful", _ANY),
    _adjective("alto", "tall", "person animal"),
    _adjective("joven", "young", "person animal", plural="jóvenes"),
    _adjective("gordo", "fat", "person animal"),
    _adjective("delgado", "thin", "person animal"),
    _adjective("fuerte", "strong", "person animal"),
    _adjective("rápido", "fast", "person animal thing"),
    _adjective("lento", "slow", "person animal thing"),
    _adjective("caro", "expensive", "food thing"),
    _adjective("barato", "cheap", "food thing"),
    _adjective("delicioso", "delicious", "food"),
    _adjective("dulce", "sweet", "food"),
    _adjective("mojado", "wet", "animal thing place", predicative=False),
    _adjective("sucio", "dirty", "animal thing place", predicative=False),
    _adjective("cansado", "tired", "person animal", predicative=False),
    _adjective("feliz", "happy", "person animal", plural="felices"),
    _adjective("triste", "sad", "person animal"),
    _adjective("tranquilo", "quiet", "person animal place"),
    _adjective("famoso", "famous", "person place thing"),
    _adjective("inteligente", "intelligent", "person animal"),
    _adjective("simpático", "friendly", "person animal"),
    _adjective("amable", "kind", "person"),
    _adjective("valiente", "brave", "person animal"),
    _adjective(
        "trabajador",
        "hardworking",
        "person",
        feminine="trabajadora",
        plural="trabajadores",
        feminine_plural="trabajadoras",
    ),
    _adjective(
        "hablador",
        "talkative",
        "person animal",
        feminine="habladora",
        plural="habladores",
        feminine_plural="habladoras",
    ),
)


def _regular(infinitive):
    """Present tense of a regular -ar, -er or -ir verb."""
    stem, ending = infinitive[:-2], infinitive[-2:]
    endings = {
        "ar": ("o", "as", "a", "amos", "an"),
        "er": ("o", "es", "e", "emos", "en"),
        "ir": ("o", "es", "e", "imos", "en"),
    }[ending]
    return dict(zip(PERSONS, (stem + suffix for suffix in endings), strict=True))


def _irregular(*forms):
    return dict(zip(PERSONS, forms, strict=True))


def _verb(spanish, english, english_third, subjects, objects="", **flags):
    return Verb(
        spanish if isinstance(spanish, dict) else _regular(spanish),
        english,
        english_third,
        frozenset(subjects.split()),
        frozenset(objects.split()),
        **flags,
    )


_THINGS = "thing food writing"
INTRANSITIVE_VERBS = (
    _verb(
        _irregular("duermo", "duermes", "duerme", "dormimos", "duermen"),
        "sleep",
        "sleeps",
        "person animal",
    ),
    _verb("correr", "run", "runs", "person animal"),
    _verb("caminar", "walk", "walks", "person animal"),
    _verb("nadar", "swim", "swims", "person animal"),
    _verb("cantar", "sing", "sings", "person animal"),
    _verb("bailar", "dance", "dances", "person"),
    _verb("llorar", "cry", "cries", "person"),
    _verb("trabajar", "work", "works", "person"),
    _verb("saltar", "jump", "jumps", "person animal"),
    _verb("descansar", "rest", "rests", "person animal"),
    _verb(
        _irregular("juego", "juegas", "juega", "jugamos", "juegan"),
        "play",
        "plays",
        "person animal",
    ),
    _verb(
        _irregular("sonrío", "sonríes", "sonríe", "sonreímos", "sonríen"),
        "smile",
        "smiles",
        "person",
    ),
    _verb("vivir", "live", "lives", "person animal", needs_place=True),
)

TRANSITIVE_VERBS = (
    _verb("comer", "eat", "eats", "person animal", "food"),
    _verb(_irregular("leo", "lees", "lee", "leemos", "leen"), "read", "reads", "person", "writing"),
    _verb("escribir", "write", "writes", "person", "writing"),
    _verb("comprar", "buy", "buys", "person", _THINGS),
    _verb("vender", "sell", "sells", "person", _THINGS + " animal"),
    _verb("buscar", "look for", "looks for", "person animal", _ANY, personal_a=True),
    _verb(
        _irregular("encuentro", "encuentras", "encuentra", "encontramos", "encuentran"),
        "find",
        "finds",
        "person animal",
        _ANY,
        personal_a=True,
    ),
    _verb("abrir", "open", "opens", "person", "openable"),
    _verb(
        _irregular("cierro", "cierras", "cierra", "cerramos", "cierran"),
        "close",
        "closes",
        "person",
        "openable",
    ),
    _verb("lavar", "wash", "washes", "person", "washable animal", personal_a=True),
    _verb("limpiar", "clean", "cleans", "person", "thing place"),
    _verb("romper", "break", "breaks", "person animal", "breakable"),
    _verb("necesitar", "need", "needs", "person animal", _THINGS),
    _verb("usar", "use", "uses", "person", "tool"),
    _verb(
        _irregular("tengo", "tienes", "tiene", "tenemos", "tienen"),
        "have",
        "has",
        "person",
        _THINGS + " animal",
    ),
    _verb(
        _irregular("veo", "ves", "ve", "vemos", "ven"),
        "see",
        "sees",
        "person animal",
        _ANY,
        personal_a=True,
    ),
    _verb("mirar", "watch", "watches", "person animal", "person animal thing", personal_a=True),
    _verb("ayudar", "help", "helps", "person animal", "person animal", personal_a=True),
    _verb("llamar", "call", "calls", "person", "person animal", personal_a=True),
    _verb(
        _irregular("conozco", "conoces", "conoce", "conocemos", "conocen"),
        "know",
        "knows",
        "person",
        "person animal place",
        personal_a=True,
    ),
    _verb(
        _irregular("sigo", "sigues", "sigue", "seguimos", "siguen"),
        "follow",
        "follows",
        "person animal",
        "person animal",
        personal_a=True,
    ),
    _verb("visitar", "visit", "visits", "person", "person place", personal_a=True),
    _verb("pintar", "paint", "paints", "person", "thing"),
    _verb("dibujar", "draw", "draws", "person", "thing food place"),
    _verb("cocinar", "cook", "cooks", "person", "food"),
    _verb("llevar", "carry", "carries", "person animal", _THINGS),
    _verb(
        _irregular("pierdo", "pierdes", "pierde", "perdemos", "pierden"),
        "lose",
        "loses",
        "person",
        "thing writing",
    ),
    _verb(
        _irregular("quiero", "quieres", "quiere", "queremos", "quieren"),
        "want",
        "wants",
        "person animal",
        _THINGS,
    ),
)

# "ser", for "<subject> es <adjective>".
COPULA = _verb(
    _irregular("soy", "eres", "es", "somos", "son"), "be", "is", "person animal food thing place"
)
COPULA_ENGLISH = {"1sg": "am", "2sg": "are", "3sg": "is", "1pl": "are", "3pl": "are"}

# Subject pronouns: (Spanish, English, person, gender); None: the speaker's or the
# listener's gender, chosen per sentence for agreement ("yo soy alto" / "yo soy alta").
PRONOUNS = (
    ("yo", "I", "1sg", None),
    ("tú", "you", "2sg", None),
    ("él", "he", "3sg", "m"),
    ("ella", "she", "3sg", "f"),
    ("nosotros", "we", "1pl", "m"),
    ("nosotras", "we", "1pl", "f"),
    ("ellos", "they", "3pl", "m"),
    ("ellas", "they", "3pl", "f"),
)

# Determiners: Spanish forms by (gender, number), and English by number; "a" becomes
# "an" before a vowel.
DETERMINERS = (
    (
        {("m", "sg"): "el", ("f", "sg"): "la", ("m", "pl"): "los", ("f", "pl"): "las"},
        {"sg": "the", "pl": "the"},
    ),
    (
        {("m", "sg"): "un", ("f", "sg"): "una", ("m", "pl"): "unos", ("f", "pl"): "unas"},
        {"sg": "a", "pl": "some"},
    ),
    (
        {("m", "sg"): "este", ("f", "sg"): "esta", ("m", "pl"): "estos", ("f", "pl"): "estas"},
        {"sg": "this", "pl": "these"},
    ),
    (
        {("m", "sg"): "mi", ("f", "sg"): "mi", ("m", "pl"): "mis", ("f", "pl"): "mis"},
        {"sg": "my", "pl": "my"},
    ),
    (
        {("m", "sg"): "tu", ("f", "sg"): "tu", ("m", "pl"): "tus", ("f", "pl"): "tus"},
        {"sg": "your", "pl": "your"},
    ),
)

# Question words: Spanish, English.
WHAT, WHERE, WHO = ("qué", "what"), ("dónde", "where"), ("quién", "who")
NEGATION = ("no", "not")
RELATIVE_PRONOUN = ("que", "that")
PLACE_PREPOSITION = ("en", "in")
