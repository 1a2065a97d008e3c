"""Art. 20(1) notices to partners: who is told, the notice, receipts, waivers."""
