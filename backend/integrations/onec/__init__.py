"""1C:Enterprise (Бухгалтерия предприятия 3.0) over its standard OData interface: the client
(:mod:`.client`) and what we keep in step there (:mod:`.sync`): contractors with complete
requisites, payment orders for approved requests, and payments read back."""
