"""The compiled fit engine: HistFactory likelihoods in JAX, whole patchsets fitted at once.

* :mod:`.layout` turns a workspace (and a patch) into arrays: structure and yields (numpy only);
* :mod:`.model` computes expected rates, their Jacobian and the NLL from those arrays (JAX);
* :mod:`.optimize` is the batched, bounded Gauss-Newton minimiser;
* :mod:`.asymptotics` turns test statistics into CLs;
* :mod:`.batch` runs the four fits of a hypothesis test for a chunk of patches at once;
* :mod:`.dispatch` decides between the engine and pyhf, and is what the fit workers call;
* :mod:`.runtime` configures JAX (64-bit, threads, the persistent compilation cache).

Importing this package does not import JAX; only the modules that compute do.
"""
