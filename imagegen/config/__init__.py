"""Settings: every setting declared once (`knobs`, with the `Knob` type in `knob`), read from the
layers a user writes them in (`sources`: a flag or action input, the environment, the repository's
settings file, the default), validated into one frozen `Settings` (`settings`), and the refusals
that need the disk or git (`preflight`).

Kept free of imports: a provider module imports `imagegen.config.knob` to declare its options, and
this package's other modules import the provider registry.
"""
