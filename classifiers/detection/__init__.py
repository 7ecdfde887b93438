"""Detection, in one home: counters and stored mentions -> Signal rows, and what is trending.

- pure algorithms: `spikes` (seasonal negative-binomial baseline), `shift` (negative/hostile share),
  `silence` (a source or key that stopped), `newterms` (terms never seen before), `trends` (the term
  tokenizer and log-likelihood ratios);
- `settings`: the [detectors] section;
- `service`: the per-minute pass of the daemon (reads through the store's methods, writes signals);
- `trending`: significant term groups of the last hours, as typed `TrendingItem`s for the digest;
- `cli`: `vigie spikes` on CSV series; `area`: the daemon's set-up of the service.
Importing the package imports none of them (the CLI's start-up stays fast).
"""
