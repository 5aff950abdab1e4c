"""The gazetteer: named places (streets, postcodes, stations, stops, landmarks) found by name."""
