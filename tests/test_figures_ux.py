"""Figures people can read: compact log ticks, the stride cost in tokens, one paper-size rule."""
import json

from matplotlib.backends.backend_agg import FigureCanvasAgg

from gpt2eval.report.figures import _tick, bars_figure, forward_tokens, paper_model, stride_figure
from gpt2eval.report.table import SIZE_RULE, build_table, paper_model_for


def result(task, metrics, model="/ckpt/my-model", n_parameters=3_324_736, stride=1024, n_tokens=280_000):
    return {
        "task": task, "metrics": metrics, "headline": next(iter(metrics)), "totals": {"n_tokens": n_tokens},
        "config": {"model": {}, "window": {"max_length": 1024, "stride": stride, "eos_prefix": True}, "data": {"limit": None}},
        "model": {"name": model, "n_parameters": n_parameters, "dtype": "float32"}, "timing": {"seconds": 7.0},
        "created_at": "2026-01-01", "sweep": {"parameter": "stride", "values": [1024, 256]},
    }


def tick_labels(fig):
    fig.canvas.draw()
    return [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]


def test_log_axis_ticks_are_compact():
    assert _tick(1e14) == "$10^{14}$" and _tick(2e6) == "2M" and _tick(5000) == "5k" and _tick(20) == "20"
    fig = bars_figure([result("ptb", {"word_perplexity": 2e15}), result("wikitext2", {"word_perplexity": 3e14})], "/ckpt/my-model")
    labels = tick_labels(fig)
    assert labels and not any(",000" in t for t in labels), labels
    assert max(len(t) for t in labels) <= 12, labels


def test_stride_cost_panel_plots_forward_tokens_and_keeps_labels_inside():
    runs = [{**result("wikitext103", {"word_perplexity": v}, model="gpt2-large", stride=s)} for s, v in ((1024, 22.0), (256, 20.5))]
    cost = [forward_tokens(r) for r in runs]
    assert 3.9 < cost[1] / cost[0] < 4.0  # L/S = 4: each halving of S doubles the cost
    fig = stride_figure(runs)
    ax_cost = fig.axes[1]
    assert sorted(ax_cost.lines[0].get_ydata()) == sorted(cost)  # tokens, not seconds
    assert "tokens" in ax_cost.get_ylabel()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for text in ax.texts:
            inside = text.get_window_extent(renderer)
            assert box.x0 <= inside.x0 and inside.x1 <= box.x1, f"{text.get_text()!r} runs past its panel"


def test_one_paper_size_rule_for_table_and_plot(tmp_path):
    big = result("ptb", {"word_perplexity": 40.0}, n_parameters=800_000_000)
    tiny = result("ptb", {"word_perplexity": 4e5}, model="/ckpt/tiny")
    for name, r in (("big", big), ("tiny", tiny)):
        del r["sweep"]
        (tmp_path / f"{name}.json").write_text(json.dumps(r))
    assert paper_model(big) == paper_model_for(big["model"]["name"], "nearest", 800_000_000) == "gpt2-large"
    assert paper_model(tiny) == "gpt2"
    text = build_table([str(tmp_path)])
    assert "paper gpt2-large" in text and "paper gpt2 " in text
    assert SIZE_RULE in text
