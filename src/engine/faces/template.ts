/** The face model's 5-point template (128² frame), measured by bench/faces-template.ts; do not edit by hand. */
export const TEMPLATE_128 = {
 "size": 128,
 "points": [
  [
   37.16,
   36.6
  ],
  [
   86.88,
   36.89
  ],
  [
   62.28,
   65.85
  ],
  [
   40.73,
   87.53
  ],
  [
   84.19,
   87.95
  ]
 ],
 "order": [
  "image-left eye centre",
  "image-right eye centre",
  "nose tip",
  "image-left mouth corner",
  "image-right mouth corner"
 ],
 "how": "Mean of the 5 points (face-api 68-point landmarks → eye centres 36–41/42–47, nose tip 30, mouth corners 48/54) detected on 290 of 300 faces/train images (evenly spaced over the set; each 128² face centred on a 256² canvas of its mean colour; SSD-MobileNetV1, score ≥ 0.5; 10 not found). bench/faces-template.ts.",
 "measuredOn": 290,
 "missed": 10,
 "std": [
  [
   1.74,
   1.65
  ],
  [
   1.7,
   1.67
  ],
  [
   3.49,
   3.2
  ],
  [
   3.41,
   2.49
  ],
  [
   3.66,
   2.52
  ]
 ],
 "median": [
  [
   37.27,
   36.59
  ],
  [
   86.9,
   36.81
  ],
  [
   62.29,
   65.91
  ],
  [
   40.5,
   87.69
  ],
  [
   84.09,
   88.02
  ]
 ]
};
