"""The assurance register: the vendor's security evidence per engagement, requested at the
start by the engagement's criticality (due diligence), provided, reviewed and kept current.

- `types`: the kinds of evidence (built-in and a workspace's own), criticalities and the
  requirements each criticality has when a workspace's admins set none.
"""
