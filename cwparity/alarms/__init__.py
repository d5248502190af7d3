"""Alarm migration parity: CloudWatch alarms and the Prometheus rules that replace them.

The data path of one alarm, module by module:

- ``model``: the alarm as plain values (what ``describe_alarms`` said) and its state timeline;
- ``evaluator``: CloudWatch's documented evaluation (M out of N, the evaluation range, each
  TreatMissingData mode) over the alarm's own datapoints — moto stores alarms but never
  evaluates them, and real CloudWatch's history is not on the period grid;
- ``translate``: the alarm as a Prometheus alerting rule through the run's mapping;
- ``rules``: rule files (the harness's, the team's ``alarms.rules_files``), pairing a team rule
  with its alarm, and the ``promtool test rules`` file built from a run's own data;
- ``timeline``: both timelines compared, transition by transition, within a derived bound;
- ``replay``: the run-level steps (before the load: read, translate, load the rules; after it:
  fetch both timelines and judge), the only module here that talks to the services.
"""
