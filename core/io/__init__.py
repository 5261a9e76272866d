"""Reading and writing files: images, the data set layout, masks, atomic saves, the h5 cache."""
