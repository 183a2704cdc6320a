"""Jupyter's additions: ROOT with its C++ toolchain, extra kernels, workflow tools."""

from __future__ import annotations

from containers.engine import Engine


def test_root_fills_a_histogram(engine: Engine, image: str) -> None:
    script = "import ROOT; h = ROOT.TH1F('h', '', 10, 0, 10); [h.Fill(i) for i in range(5)]; print(int(h.GetEntries()))"
    assert engine.run(image, "python", "-c", script).strip().splitlines()[-1] == "5"


def test_cpp_toolchain_compiles(engine: Engine, image: str) -> None:
    script = "cd $(mktemp -d) && printf 'int main(){return 7;}' > a.cpp && g++ a.cpp -o a && ./a; echo $?"
    assert engine.run(image, "bash", "-c", script).strip() == "7"


def test_extra_kernels_and_workflow_tools(engine: Engine, image: str) -> None:
    assert "bash" in engine.run(image, "jupyter", "kernelspec", "list")
    out = engine.run(
        image,
        "bash",
        "-c",
        "snakemake --version && reana-client --help >/dev/null && echo reana "
        "&& papermill --help >/dev/null && echo papermill",
    )
    assert out.split()[1:] == ["reana", "papermill"] and out.split()[0][0].isdigit()
