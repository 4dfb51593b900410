"""`python -m attention_layers demo RUN`: a Gradio page that shows attention live.

    pip install -e ".[demo]"                                 # Gradio, an optional extra
    python -m attention_layers demo runs/translator-builtin  # http://127.0.0.1:7860
    python -m attention_layers demo runs/classifier-builtin --port 7861

For a translator: type a sentence, choose greedy decoding or a beam width, and get the
translation with the cross-attention of every decoder layer and head, a grid of heat maps
with the source words on the x axis and the output words on the y axis, drawn by
`attention_layers.visualization.plot_heads` (the code of the training plots). For a
classifier: the class probabilities, and the sentence with each word shaded by its
pooling attention. The run's sample sentences (`results.json`: the translator's from the
test split, the classifier's from the validation split) are offered as examples to click.

The page is local: it binds to 127.0.0.1 unless `--host` says otherwise, no share link is
offered, Gradio's analytics and version check are off, and the page loads nothing from
outside the server (fonts and scripts are Gradio's own files). The model runs through
`attention_layers.load_run`, so the page translates as the run's export does.
"""

import html
import io
import json
import os
import pathlib
import signal
import sys

from attention_layers.apps.command_line import (
    CommandParser,
    add_address_flags,
    listening_socket,
    url_host,
)

DEFAULT_PORT = 7860
# The decodings offered: (label, beam width).
DECODINGS = (("greedy", 1), ("beam 2", 2), ("beam 4", 4), ("beam 8", 8))
EXAMPLES = 5
INSTALL_HINT = 'the demo needs Gradio, an optional extra: pip install -e ".[demo]"'


def build_parser():
    parser = CommandParser(
        prog="python -m attention_layers demo",
        description="A Gradio page over a finished run: type a sentence, see the "
        "translation or the class probabilities and the attention that produced them.",
    )
    parser.add_argument("run", metavar="RUN",
                        help="the --output folder of train_translator.py or "
                        "train_classifier.py, e.g. runs/translator-builtin")
    add_address_flags(parser, DEFAULT_PORT)
    return parser


def _import_gradio():
    """Gradio with its analytics, version check and Hugging Face Hub calls turned off, or
    None when it is not installed."""
    # Read by Gradio and huggingface_hub when they are imported: nothing phones home.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    try:
        import gradio
    except ImportError:
        return None
    return gradio


def example_texts(run, count=EXAMPLES):
    """The run's sample sentences from `results.json` (at most `count`), or `[]`.

    The translator's samples are the first sentences of its test split; the classifier's,
    of its validation split (SST-2's test split has no labels). Both were held out of
    training, and neither needs the corpus again.
    """
    try:
        samples = json.loads((run.folder / "results.json").read_text(encoding="utf-8"))["samples"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    field = "source" if run.kind == "translator" else "text"
    return [sample[field] for sample in samples if isinstance(sample, dict)
            and isinstance(sample.get(field), str)][:count]


def figure_svg(figure):
    """A matplotlib figure as inline SVG, its text kept as text (so words can be found
    and selected in the page)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # without the XML declaration and DOCTYPE


def attention_heatmaps(view):
    """The cross-attention of a `TranslationAttention` as a layer x head grid of heat
    maps, in HTML (inline SVG)."""
    from attention_layers.visualization import plot_heads

    layers = len(view.cross_attention)
    heads = max(weights.shape[0] for weights in view.cross_attention.values())
    figure = plot_heads(
        view.cross_attention, view.source_tokens, view.output_tokens,
        title=f"Cross-attention: {layers} layer{'s' * (layers > 1)} x {heads} "
        f"head{'s' * (heads > 1)}",
    )
    return f'<div class="attention-heatmaps" style="overflow-x: auto">{figure_svg(figure)}</div>'


def translate_view(run, sentence, beam_width):
    """What the translator page shows for `sentence`: `(translation, heat maps HTML)`."""
    if not sentence.strip():
        return "", "<p>Type a Spanish sentence and press Enter.</p>"
    view = run.attention(sentence, beam_width=int(beam_width))
    return view.translation, attention_heatmaps(view)


def classify_view(run, text):
    """What the classifier page shows for `text`: `(class probabilities, highlighted
    tokens)`, for `gr.Label` and `gr.HighlightedText`.

    Each token is paired with its weight divided by the largest one, so that the most
    attended token is the darkest whatever the sentence's length (as
    `plot_token_importance` scales its colours).
    """
    if not text.strip():
        return {}, []
    view = run.attention(text)
    largest = float(view.weights.max(initial=0.0)) or 1.0
    return view.probabilities, [
        (token, float(weight) / largest) for token, weight in zip(view.tokens, view.weights,
                                                                  strict=True)
    ]


def _translator_page(gr, run):
    with gr.Row():
        with gr.Column(scale=3):
            sentence = gr.Textbox(label="Spanish sentence", placeholder="¿Dónde está el gato?",
                                  lines=1, elem_id="source")
        with gr.Column(scale=2):
            decoding = gr.Radio(list(DECODINGS), value=1, label="decoding",
                                elem_id="decoding")
    button = gr.Button("Translate", variant="primary", elem_id="translate")
    translation = gr.Textbox(label="translation", interactive=False, elem_id="translation")
    heatmaps = gr.HTML(elem_id="heatmaps")
    examples = example_texts(run)
    if examples:
        gr.Examples([[text] for text in examples], inputs=[sentence],
                    label="Sentences from the run's test split")

    def respond(text, beam_width):
        return translate_view(run, text, beam_width)

    for event in (button.click, sentence.submit):
        event(respond, inputs=[sentence, decoding], outputs=[translation, heatmaps])


def _classifier_page(gr, run):
    text = gr.Textbox(label="sentence", placeholder="The acting was not boring.", lines=1,
                      elem_id="text")
    button = gr.Button("Classify", variant="primary", elem_id="classify")
    with gr.Row():
        probabilities = gr.Label(label="class probabilities", elem_id="probabilities")
        words = gr.HighlightedText(label="attention on each word (darker: more)",
                                   elem_id="attention")
    examples = example_texts(run)
    if examples:
        gr.Examples([[sentence] for sentence in examples], inputs=[text],
                    label="Sentences from the run's validation split")

    def respond(sentence):
        return classify_view(run, sentence)

    for event in (button.click, text.submit):
        event(respond, inputs=[text], outputs=[probabilities, words])


def build_app(run, gr=None):
    """The Gradio `Blocks` of a loaded run (`attention_layers.load_run`)."""
    gr = gr or _import_gradio()
    title = f"{run.kind.capitalize()}: {run.folder}"
    with gr.Blocks(title=f"attention-layers: {title}", analytics_enabled=False) as app:
        gr.Markdown(f"## {html.escape(title)}\n{html.escape(type(run.model).__name__)}; "
                    "attention weights computed as the model produced its answer.")
        if run.kind == "translator":
            _translator_page(gr, run)
        else:
            _classifier_page(gr, run)
    return app


def main(argv=None):
    """Serves the demo until Ctrl-C or SIGTERM; returns the exit code (2: bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in [1, 65535]; received {args.port}")
    from attention_layers.apps.run import RunError, read_run_config

    try:
        read_run_config(pathlib.Path(args.run))  # before the slow imports
    except RunError as error:
        parser.error(str(error))
    listening_socket(parser, args.host, args.port).close()  # free: Gradio takes it next
    gr = _import_gradio()
    if gr is None:
        print(f"demo: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from attention_layers.apps.run import load_run

    print(f"Loading {args.run} ...", flush=True)
    run = load_run(args.run)
    app = build_app(run, gr)
    shown = url_host(args.host)
    print(f"Demo of {run.folder} ({run.kind}) at http://{shown}:{args.port}/ ; Ctrl-C stops",
          flush=True)
    # SIGTERM stops the server as Ctrl-C does (Gradio closes it on KeyboardInterrupt).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    app.launch(
        server_name=args.host, server_port=args.port, share=False, quiet=True,
        footer_links=[], mcp_server=False, ssr_mode=False, pwa=False, show_error=True,
        enable_monitoring=False,
    )
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
